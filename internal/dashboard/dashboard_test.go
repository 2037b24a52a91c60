package dashboard

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/stats"
	"github.com/posthorn/posthorn/internal/store"
)

// fixedNow is the test clock: 2026-03-02 10:42:30 UTC.
func fixedNow() time.Time { return time.Date(2026, 3, 2, 10, 42, 30, 0, time.UTC) }

// traffic records events through a mail log into a fresh stats store, as
// the daemon does, and flushes them.
type traffic struct {
	t   testing.TB
	st  *stats.Stats
	log *maillog.Log
}

func newTraffic(t testing.TB) *traffic {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "posthorn.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := stats.New(db, stats.Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return &traffic{t: t, st: st, log: maillog.New(nil, st)}
}

// send records n events of kind from svc, ago before now.
func (tr *traffic) send(svc string, kind maillog.Kind, ago time.Duration, n int) {
	for range n {
		tr.log.Record(maillog.Event{Kind: kind, Service: svc, QueueID: "q", Time: fixedNow().Add(-ago)})
	}
}

func (tr *traffic) flush() {
	tr.t.Helper()
	if err := tr.st.Flush(context.Background()); err != nil {
		tr.t.Fatal(err)
	}
}

// twoServices is the standard scene: gerrit and sentry sending over the
// last hour, a few deferrals and a bounce, queue and upstream samples.
func twoServices(t testing.TB) *traffic {
	tr := newTraffic(t)
	for m := range 60 {
		ago := time.Duration(m) * time.Minute
		tr.send("gerrit", maillog.Accepted, ago, 2+m%3)
		tr.send("gerrit", maillog.Delivered, ago, 2+m%3)
		if m%4 == 0 {
			tr.send("sentry", maillog.Accepted, ago, 1+m%5)
			tr.send("sentry", maillog.Delivered, ago, 1)
		}
		if m >= 20 && m < 26 {
			tr.send("sentry", maillog.Deferred, ago, 3)
		}
	}
	tr.send("sentry", maillog.Bounced, 7*time.Minute, 1)
	tr.send("unknown", maillog.Rejected, 3*time.Minute, 2)
	tr.flush()
	ctx := context.Background()
	for m := range 60 {
		at := fixedNow().Add(-time.Duration(m) * time.Minute)
		depth, age := 1, 20*time.Second
		if m >= 20 && m < 26 {
			depth, age = 18, time.Duration(26-m)*time.Minute
		}
		if err := tr.st.Sample(ctx, at, depth, age, map[string]bool{"mx1.example.org:25": m < 20 || m >= 26, "mx2.example.org:25": true}); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func liveStatus() Live {
	return Live{QueueDepth: 3, OldestAge: 95 * time.Second, Upstreams: []UpstreamLive{
		{Name: "mx1.example.org:25", Up: true},
		{Name: "mx2.example.org:25", Up: false, DownSince: fixedNow().Add(-5 * time.Minute), LastError: "dial tcp: connection refused"},
	}}
}

// get serves one request and returns the response and its body.
func get(t *testing.T, h http.Handler, method, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// svgNode is a parsed SVG element.
type svgNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []svgNode  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (n *svgNode) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// walk calls fn on n and every descendant.
func (n *svgNode) walk(fn func(*svgNode)) {
	fn(n)
	for i := range n.Children {
		n.Children[i].walk(fn)
	}
}

// charts parses every chart SVG of the page, strictly, keyed by the id of
// the card holding it.
func charts(t *testing.T, body string) map[string]*svgNode {
	t.Helper()
	out := map[string]*svgNode{}
	rest := body
	for n := 0; n < 100; n++ {
		i := strings.Index(rest, `<svg class="chart"`)
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "</svg>")
		if j < 0 {
			t.Fatalf("unterminated svg: %.200s", rest[i:])
		}
		src := rest[i : i+j+len("</svg>")]
		card := rest[:i]
		k := strings.LastIndex(card, `<section class="card" id="`)
		if k < 0 {
			t.Fatalf("chart outside a card: %.200s", src)
		}
		id := card[k+len(`<section class="card" id="`):]
		id = id[:strings.IndexByte(id, '"')]
		var root svgNode
		d := xml.NewDecoder(strings.NewReader(src))
		d.Strict = true
		if err := d.Decode(&root); err != nil {
			t.Fatalf("chart %s is not well-formed XML: %v\n%s", id, err, src)
		}
		out[id] = &root
		rest = rest[i+j:]
	}
	return out
}

// seriesGroups returns the <g> elements carrying data-<attr> in chart c,
// by value.
func seriesGroups(c *svgNode, attr string) map[string]*svgNode {
	out := map[string]*svgNode{}
	c.walk(func(n *svgNode) {
		if v, ok := n.attr("data-" + attr); ok && n.XMLName.Local == "g" {
			out[v] = n
		}
	})
	return out
}

func countElems(n *svgNode, name string) int {
	c := 0
	n.walk(func(m *svgNode) {
		if m.XMLName.Local == name {
			c++
		}
	})
	return c
}

func TestDashboardDrawsEachService(t *testing.T) {
	t.Parallel()
	tr := twoServices(t)
	h := New(tr.st, liveStatus, fixedNow)
	res, body := get(t, h, "GET", "/dashboard?range=hour")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	cs := charts(t, body)
	for _, id := range []string{"volume", "outcomes", "queue", "age", "upstreams"} {
		if cs[id] == nil {
			t.Fatalf("chart %s missing; have %v", id, keys(cs))
		}
	}
	vol := seriesGroups(cs["volume"], "service")
	for _, svc := range []string{"gerrit", "sentry"} {
		g := vol[svc]
		if g == nil {
			t.Fatalf("volume chart has no series for %s (have %v)", svc, keys(vol))
		}
		if countElems(g, "rect") == 0 {
			t.Errorf("%s series has no bars", svc)
		}
	}
	// "unknown" only had rejections: no accepted series to draw, but it is in the table.
	if g := vol["unknown"]; g != nil && countElems(g, "rect") != 0 {
		t.Errorf("unknown drew accepted bars")
	}
	// gerrit sent 2+m%3 per minute for 60 minutes = 180; sentry 1+m%5 every 4th minute.
	for _, want := range []string{
		`<tr data-service="gerrit"><th scope="row">`, totalsRow("gerrit", 180, 180, 0, 0, 0), totalsRow("sentry", 45, 15, 18, 1, 0),
		totalsRow("unknown", 0, 0, 0, 0, 2), totalsRow("All services", 225, 195, 18, 1, 2),
		`Queued now</span><span class="value">3</span>`, `1 min 35 s`, `Mon 2 Mar 09:43 – 10:42 UTC · bars per 1 min`,
		`mx2.example.org:25: down since Mon 10:37`, `title="dial tcp: connection refused"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	out := seriesGroups(cs["outcomes"], "series")
	for _, o := range []string{"delivered", "deferred", "bounced"} {
		if out[o] == nil || countElems(out[o], "rect") == 0 {
			t.Errorf("outcomes chart: no bars for %s", o)
		}
	}
	up := seriesGroups(cs["upstreams"], "upstream")
	// mx1 was down 10:17 to 10:23: up, down, up; mx2 always up.
	if len(up) != 2 || countElems(up["mx1.example.org:25"], "rect") != 3 || countElems(up["mx2.example.org:25"], "rect") != 1 {
		t.Errorf("upstream strips: %v", keys(up))
	}
	if !strings.Contains(body, "mx1.example.org:25, 10:17–10:23: down") || !strings.Contains(body, "90.0% up") {
		t.Errorf("upstream outage not described")
	}
	if strings.Contains(body, "No mail in this period") {
		t.Errorf("page with mail says there is none")
	}
	// Every service keeps its colour in the legend and the table.
	if !strings.Contains(body, `fill="#2f6db5"/></svg>gerrit`) || !strings.Contains(body, `fill="#d9731a"/></svg>sentry`) {
		t.Errorf("legend colours not assigned by sorted name")
	}
}

func TestChartsAreAccessibleSVG(t *testing.T) {
	t.Parallel()
	tr := twoServices(t)
	h := New(tr.st, liveStatus, fixedNow)
	for _, rng := range []string{"hour", "day", "week"} {
		_, body := get(t, h, "GET", "/dashboard?range="+rng)
		cs := charts(t, body)
		if len(cs) != 5 {
			t.Fatalf("%s: %d charts, want 5", rng, len(cs))
		}
		for id, c := range cs {
			if role, _ := c.attr("role"); role != "img" {
				t.Errorf("%s/%s: role %q", rng, id, role)
			}
			if vb, _ := c.attr("viewBox"); !strings.HasPrefix(vb, "0 0 ") {
				t.Errorf("%s/%s: viewBox %q", rng, id, vb)
			}
			if len(c.Children) < 2 || c.Children[0].XMLName.Local != "title" || c.Children[1].XMLName.Local != "desc" ||
				strings.TrimSpace(c.Children[0].Text) == "" || strings.TrimSpace(c.Children[1].Text) == "" {
				t.Errorf("%s/%s: want <title> and <desc> first", rng, id)
			}
			labelled, _ := c.attr("aria-labelledby")
			if labelled != id+"-t "+id+"-d" {
				t.Errorf("%s/%s: aria-labelledby %q", rng, id, labelled)
			}
		}
		// Time ticks on every time chart, labelled.
		if n := countElems(cs["volume"], "text"); n < 5 {
			t.Errorf("%s: volume chart has %d labels", rng, n)
		}
	}
}

func TestRangesBucketing(t *testing.T) {
	t.Parallel()
	tr := newTraffic(t)
	tr.send("gerrit", maillog.Accepted, 0, 1)
	tr.send("gerrit", maillog.Accepted, 5*time.Hour, 4)    // day and week only
	tr.send("gerrit", maillog.Accepted, 3*24*time.Hour, 9) // week only
	tr.flush()
	h := New(tr.st, nil, fixedNow)
	for _, c := range []struct {
		rng   string
		total int
		bars  int
	}{
		{"hour", 1, 1},
		{"day", 5, 2},
		{"week", 14, 3},
	} {
		_, body := get(t, h, "GET", "/dashboard?range="+c.rng)
		if !strings.Contains(body, totalsRow("gerrit", c.total, 0, 0, 0, 0)) {
			t.Errorf("%s: total want %d", c.rng, c.total)
		}
		g := seriesGroups(charts(t, body)["volume"], "service")["gerrit"]
		if g == nil || countElems(g, "rect") != c.bars {
			t.Errorf("%s: want %d bars", c.rng, c.bars)
		}
		if !strings.Contains(body, `aria-current="page">Last `+c.rng) {
			t.Errorf("%s: range not marked current", c.rng)
		}
	}
}

func TestEscapesHostileNames(t *testing.T) {
	t.Parallel()
	tr := newTraffic(t)
	hostile := `<script>alert("x")</script>" onmouseover="evil`
	tr.send(hostile, maillog.Accepted, time.Minute, 3)
	tr.send("gerrit", maillog.Accepted, time.Minute, 1)
	tr.flush()
	if err := tr.st.Sample(context.Background(), fixedNow(), 1, time.Second, map[string]bool{"<b>mx</b>": true}); err != nil {
		t.Fatal(err)
	}
	live := func() Live {
		return Live{Upstreams: []UpstreamLive{{Name: "<img src=x>", LastError: `"><script>1</script>`}}}
	}
	_, body := get(t, New(tr.st, live, fixedNow), "GET", "/dashboard")
	for _, bad := range []string{"<script", "<img", "<b>", `" onmouseover=`} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	if !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("escaped name not shown")
	}
	vol := seriesGroups(charts(t, body)["volume"], "service")
	if vol[hostile] == nil || vol["gerrit"] == nil {
		t.Errorf("series by data-service: %v", keys(vol))
	}
}

func TestEmptyPeriod(t *testing.T) {
	t.Parallel()
	tr := newTraffic(t)
	tr.send("gerrit", maillog.Accepted, 3*time.Hour, 1) // outside the hour
	tr.flush()
	_, body := get(t, New(tr.st, nil, fixedNow), "GET", "/dashboard?range=hour")
	if !strings.Contains(body, "No mail in this period") {
		t.Errorf("empty period not stated")
	}
	if strings.Contains(body, `<svg class="chart"`) {
		t.Errorf("empty period drew a chart")
	}
	if strings.Contains(body, `data-service="gerrit"`) {
		t.Errorf("service outside the period shown")
	}
	_, body = get(t, New(tr.st, nil, fixedNow), "GET", "/dashboard?range=day")
	if strings.Contains(body, "No mail in this period") || len(charts(t, body)) != 1 ||
		!strings.Contains(body, "No deliveries, deferrals or bounces in this period") {
		t.Errorf("day view: want the volume chart drawn and the outcomes said to be empty")
	}
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	tr := newTraffic(t)
	h := New(tr.st, nil, fixedNow)
	if res, _ := get(t, h, "GET", "/dashboard?range=year"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown range: %d", res.StatusCode)
	}
	if res, _ := get(t, h, "POST", "/dashboard"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", res.StatusCode)
	}
	if res, _ := get(t, h, "GET", "/dashboard"); res.StatusCode != 200 {
		t.Errorf("default range: %d", res.StatusCode)
	}
	// A broken store is a 500, not a half page.
	db, err := store.Open(filepath.Join(t.TempDir(), "broken.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.New(db, stats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if res, body := get(t, New(st, nil, fixedNow), "GET", "/dashboard"); res.StatusCode != 500 || strings.Contains(body, "<svg") {
		t.Errorf("closed store: %d", res.StatusCode)
	}
}

func TestNiceScale(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		max     float64
		integer bool
		top     float64
		ticks   int
	}{
		{0, true, 1, 1}, {1, true, 1, 1}, {3, true, 3, 3}, {7, true, 8, 4}, {9, true, 10, 5},
		{38, true, 40, 4}, {101, true, 150, 3}, {0.3, false, 0.3, 3}, {2.5, false, 2.5, 5}, {1234, true, 1500, 3},
	} {
		top, ticks := niceScale(c.max, c.integer)
		if math.Abs(top-c.top) > 1e-9 || ticks != c.ticks {
			t.Errorf("niceScale(%v) = %v, %d; want %v, %d", c.max, top, ticks, c.top, c.ticks)
		}
		if top < c.max {
			t.Errorf("niceScale(%v) top %v below the data", c.max, top)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0 s", -time.Second: "0 s", 45 * time.Second: "45 s", 200 * time.Second: "3 min 20 s", time.Hour: "1 h",
		125 * time.Minute: "2 h 5 min", 76 * time.Hour: "3 d 4 h",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rng  string
		want []string
	}{
		{"hour", []string{"09:50", "10:00", "10:10", "10:20", "10:30", "10:40"}},
		{"day", []string{"12:00", "15:00", "18:00", "21:00", "00:00", "03:00", "06:00", "09:00"}},
		{"week", []string{"Tue 24", "Wed 25", "Thu 26", "Fri 27", "Sat 28", "Sun 1", "Mon 2"}},
	} {
		r, _ := rangeNamed(c.rng)
		now := fixedNow()
		start := now.Add(-r.span + r.step).Truncate(r.step)
		f := frame{start: start, step: r.step, buckets: int(r.span / r.step), loc: time.UTC, rng: r}
		var got []string
		last := -1.0
		for _, tk := range timeTicks(f, 10, 100) {
			got = append(got, tk.Label)
			if tk.Pos < 10 || tk.Pos > 110 || tk.Pos <= last {
				t.Errorf("%s: tick %s at %v", c.rng, tk.Label, tk.Pos)
			}
			last = tk.Pos
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s ticks %v, want %v", c.rng, got, c.want)
		}
	}
}

// totalsRow is the end of a row of the totals table.
func totalsRow(name string, accepted, delivered, deferred, bounced, rejected int) string {
	return fmt.Sprintf(`%s</th><td data-label="Accepted">%d</td><td data-label="Delivered">%d</td>`+
		`<td data-label="Deferred">%d</td><td data-label="Bounced">%d</td><td data-label="Rejected">%d</td></tr>`,
		name, accepted, delivered, deferred, bounced, rejected)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestConfigurationAndDrift: the running configuration and a file not
// applied are on the page.
func TestConfigurationAndDrift(t *testing.T) {
	t.Parallel()
	tr := newTraffic(t)
	tr.send("gerrit", maillog.Accepted, time.Minute, 1)
	tr.flush()
	live := Live{ConfigFingerprint: "0123456789abcdef0123", ConfigLoaded: fixedNow().Add(-time.Hour)}
	_, body := get(t, New(tr.st, func() Live { return live }, fixedNow), "GET", "/dashboard")
	if !strings.Contains(body, "0123456789ab, loaded Mon 2 Mar 09:42") || strings.Contains(body, "not applied") {
		t.Errorf("configuration without drift not shown right:\n%s", body)
	}
	live.DriftSince = fixedNow().Add(-30 * time.Minute)
	_, body = get(t, New(tr.st, func() Live { return live }, fixedNow), "GET", "/dashboard")
	if !strings.Contains(body, "not applied: the file differs since Mon 2 Mar 10:12") {
		t.Errorf("drift not shown:\n%s", body)
	}
}
