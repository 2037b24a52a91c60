package metrics

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
)

// repoFile returns the path of a file relative to the module root.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel)
		}
		dir = filepath.Dir(dir)
	}
	t.Fatalf("no go.mod above the test directory")
	return ""
}

// registeredNames gathers every metric family the package exports, with
// every source set and one event of each kind recorded so that every
// vector has a series.
func registeredNames(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	now := time.Now()
	m, err := New(reg, Sources{
		Queue:     func() (int, time.Time) { return 1, now },
		Upstreams: func() []courier.UpstreamStatus { return []courier.UpstreamStatus{{Addr: "mx:25"}} },
		Config:    func() (string, time.Time) { return "f", now },
		Drift:     func() bool { return false },
		Version:   "v",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []maillog.Kind{maillog.Accepted, maillog.Delivered, maillog.Deferred, maillog.Bounced,
		maillog.Rejected, maillog.Notice, maillog.Session, maillog.Error} {
		m.Record(maillog.Event{Kind: k, Time: now, Service: "s", Upstream: "mx:25", Stage: "x", Action: "bounce", Rcpts: 1})
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if len(names) != 21 {
		t.Fatalf("%d metric families, want 21: %v", len(names), names)
	}
	return names
}

// checkNames fails for every posthorn_ name in expr that the package does
// not export (histogram series suffixes allowed), and returns the names used.
func checkNames(t *testing.T, where, expr string, known map[string]bool) []string {
	t.Helper()
	re := regexp.MustCompile(`\bposthorn_[a-z0-9_]+`)
	var used []string
	for _, n := range re.FindAllString(expr, -1) {
		base := n
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suf); ok && known[b] {
				base = b
			}
		}
		if !known[base] {
			t.Errorf("%s: %s is not a metric this package exports", where, n)
		}
		used = append(used, base)
	}
	return used
}

type alertRule struct {
	name, expr, forDur, severity, summary string
}

// parseAlerts reads alerts.yml line by line: the file keeps to a fixed
// shape (groups → rules → alert, expr, for, labels.severity,
// annotations.summary), with expr either inline or a "|" block.
func parseAlerts(t *testing.T, path string) (groups int, rules []alertRule) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
	var cur *alertRule
	blockIndent := -1 // inside an expr: | block while > 0
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		raw := sc.Text()
		if strings.Contains(raw, "\t") {
			t.Errorf("line %d: tab in YAML", line)
		}
		text := strings.TrimSpace(raw)
		if blockIndent >= 0 {
			if text == "" || indent(raw) > blockIndent {
				cur.expr += text + "\n"
				continue
			}
			blockIndent = -1
		}
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, val, _ := strings.Cut(strings.TrimPrefix(text, "- "), ":")
		val = strings.Trim(strings.TrimSpace(val), `"`)
		switch key {
		case "groups":
			groups++
		case "alert":
			rules = append(rules, alertRule{name: val})
			cur = &rules[len(rules)-1]
		case "expr":
			if cur == nil {
				t.Fatalf("line %d: expr outside a rule", line)
			}
			if val == "|" {
				blockIndent = indent(raw)
			} else {
				cur.expr = val
			}
		case "for":
			cur.forDur = val
		case "severity":
			cur.severity = val
		case "summary":
			cur.summary = val
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return groups, rules
}

func TestAlertRulesUseExportedMetrics(t *testing.T) {
	t.Parallel()
	known := registeredNames(t)
	groups, rules := parseAlerts(t, repoFile(t, "contrib/prometheus/alerts.yml"))
	if groups != 1 {
		t.Fatalf("%d groups: keys, want 1", groups)
	}
	want := []string{"PosthornOldestQueuedMessage", "PosthornAllUpstreamsDown", "PosthornUpstreamDown",
		"PosthornHighDeferralRatio", "PosthornServiceSilent", "PosthornConfigDrift"}
	if len(rules) != len(want) {
		t.Fatalf("%d rules, want %d: %+v", len(rules), len(want), rules)
	}
	for i, r := range rules {
		if r.name != want[i] {
			t.Errorf("rule %d is %q, want %q", i, r.name, want[i])
		}
		if strings.TrimSpace(r.expr) == "" || r.summary == "" {
			t.Errorf("%s: empty expr or summary", r.name)
		}
		if r.severity != "page" && r.severity != "warning" {
			t.Errorf("%s: severity %q", r.name, r.severity)
		}
		if _, err := model.ParseDuration(r.forDur); err != nil {
			t.Errorf("%s: for: %v", r.name, err)
		}
		if len(checkNames(t, r.name, r.expr, known)) == 0 {
			t.Errorf("%s: uses no posthorn metric", r.name)
		}
	}
	if !strings.Contains(rules[5].expr, "posthorn_config_drift") {
		t.Errorf("config drift rule does not use posthorn_config_drift: %s", rules[5].expr)
	}
}

// TestAlertRulesWithPromtool runs promtool's syntax check and the rule unit
// tests in testdata when promtool is installed (Debian: prometheus).
func TestAlertRulesWithPromtool(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	for _, args := range [][]string{
		{"check", "rules", repoFile(t, "contrib/prometheus/alerts.yml")},
		{"test", "rules", "testdata/alerts_test.yml", "testdata/alerts_silent_test.yml"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

func TestGrafanaDashboardUsesExportedMetrics(t *testing.T) {
	t.Parallel()
	known := registeredNames(t)
	data, err := os.ReadFile(repoFile(t, "contrib/grafana/posthorn.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion == 0 || len(d.Panels) == 0 {
		t.Fatalf("not a dashboard: title %q uid %q schema %d, %d panels", d.Title, d.UID, d.SchemaVersion, len(d.Panels))
	}
	used := make(map[string]bool)
	ids := make(map[int]bool)
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("%q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%q: no targets", p.Title)
		}
		for _, tg := range p.Targets {
			names := checkNames(t, p.Title, tg.Expr, known)
			if len(names) == 0 {
				t.Errorf("%q: target %s uses no posthorn metric: %q", p.Title, tg.RefID, tg.Expr)
			}
			for _, n := range names {
				used[n] = true
			}
		}
	}
	for _, v := range d.Templating.List {
		checkNames(t, "variable "+v.Name, string(v.Query), known)
	}
	// The panels the monitoring issue asks for.
	for _, n := range []string{"posthorn_messages_accepted_total", "posthorn_recipients_delivered_total",
		"posthorn_recipients_deferred_total", "posthorn_recipients_bounced_total", "posthorn_queue_messages",
		"posthorn_queue_oldest_message_age_seconds", "posthorn_upstream_up", "posthorn_delivery_latency_seconds"} {
		if !used[n] {
			t.Errorf("dashboard has no panel over %s", n)
		}
	}
}

// TestEveryMetricDocumented keeps docs/metrics.md in step with the code.
func TestEveryMetricDocumented(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(repoFile(t, "docs/metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for n := range registeredNames(t) {
		if !strings.Contains(doc, "### `"+n+"`") {
			t.Errorf("docs/metrics.md has no section for %s", n)
		}
	}
	checkNames(t, "docs/metrics.md", doc, registeredNames(t))
}
