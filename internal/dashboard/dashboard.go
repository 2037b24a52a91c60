// Package dashboard serves the built-in mail dashboard: one server-rendered
// HTML page with inline SVG charts drawn from the per-minute statistics
// (package stats), so operators see each service's mail without Prometheus.
//
// Flow of a request: GET /dashboard?range=hour|day|week picks a view (the
// last hour in 1-minute buckets, the last day in 15-minute buckets, the
// last week in 2-hour buckets); the handler reads the bucketed series from
// the stats store and the live status (queue, upstreams) from its caller,
// lays out every chart's geometry in Go (view.go, chart.go) and renders the
// page with html/template, which escapes every name. The page needs no
// JavaScript and loads nothing else: its CSS is embedded, charts are
// inline SVG scaled to the page width, and it refreshes itself every
// minute.
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/posthorn/posthorn/internal/stats"
)

//go:embed dashboard.html dashboard.css
var assets embed.FS

// Live is the current state the page shows above the charts.
type Live struct {
	QueueDepth int
	OldestAge  time.Duration // age of the oldest queued message; 0 when empty
	Upstreams  []UpstreamLive
	// The running configuration: fingerprint, load time, and since when
	// the file on disk differs from it (zero when it does not).
	ConfigFingerprint string
	ConfigLoaded      time.Time
	DriftSince        time.Time
}

// UpstreamLive is one upstream relay's current state.
type UpstreamLive struct {
	Name      string
	Up        bool
	DownSince time.Time // zero when up
	LastError string
}

// Handler serves the dashboard page.
type Handler struct {
	stats  *stats.Stats
	live   func() Live
	now    func() time.Time
	tmpl   *template.Template
	Logger *slog.Logger // errors reading the store; nil discards
}

// New returns a dashboard over st. live (may be nil) reports the current
// queue and upstream state; now (nil: time.Now) is the clock, and its
// location is the time zone of the page.
func New(st *stats.Stats, live func() Live, now func() time.Time) *Handler {
	if now == nil {
		now = time.Now
	}
	css, err := assets.ReadFile("dashboard.css")
	if err != nil {
		panic("dashboard: embedded stylesheet missing: " + err.Error())
	}
	tmpl := template.Must(template.New("dashboard.html").Funcs(template.FuncMap{
		"n":   num,
		"css": func() template.CSS { return template.CSS(css) },
		"add": func(a, b float64) float64 { return a + b },
		"odd": func(i int) bool { return i%2 == 1 },
	}).ParseFS(assets, "dashboard.html"))
	return &Handler{stats: st, live: live, now: now, tmpl: tmpl}
}

// ServeHTTP renders the page for the range in the query (default hour).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := r.URL.Query().Get("range")
	if name == "" {
		name = "hour"
	}
	rng, ok := rangeNamed(name)
	if !ok {
		http.Error(w, "unknown range: use hour, day or week", http.StatusBadRequest)
		return
	}
	p, err := h.build(r.Context(), rng)
	if err != nil {
		h.logger().LogAttrs(r.Context(), slog.LevelError, "dashboard: reading statistics failed",
			slog.String("error", err.Error()))
		http.Error(w, "could not read the statistics store", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := h.tmpl.Execute(&buf, p); err != nil {
		h.logger().LogAttrs(r.Context(), slog.LevelError, "dashboard: rendering failed",
			slog.String("error", err.Error()))
		http.Error(w, "could not render the dashboard", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// viewRange is one of the page's time ranges.
type viewRange struct {
	name       string
	title      string // "last hour"
	span, step time.Duration
	stepLabel  string        // "1 min"
	tickEvery  time.Duration // time axis ticks; 24h means at midnight
	tickFormat string
}

func ranges() []viewRange {
	return []viewRange{
		{name: "hour", title: "Last hour", span: time.Hour, step: time.Minute, stepLabel: "1 min",
			tickEvery: 10 * time.Minute, tickFormat: "15:04"},
		{name: "day", title: "Last day", span: 24 * time.Hour, step: 15 * time.Minute, stepLabel: "15 min",
			tickEvery: 3 * time.Hour, tickFormat: "15:04"},
		{name: "week", title: "Last week", span: 7 * 24 * time.Hour, step: 2 * time.Hour, stepLabel: "2 h",
			tickEvery: 24 * time.Hour, tickFormat: "Mon 2"},
	}
}

func rangeNamed(name string) (viewRange, bool) {
	for _, r := range ranges() {
		if r.name == name {
			return r, true
		}
	}
	return viewRange{}, false
}

// firstTick is the first round tick time at or before t's day start that
// the axis walks forward from.
func (r viewRange) firstTick(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func (r viewRange) nextTick(t time.Time) time.Time {
	if r.tickEvery >= 24*time.Hour {
		return t.AddDate(0, 0, 1)
	}
	return t.Add(r.tickEvery)
}

// build reads the range's series and the live state into a page.
func (h *Handler) build(ctx context.Context, rng viewRange) (*page, error) {
	now := h.now()
	sr, err := h.stats.Series(ctx, now.Add(-rng.span+rng.step), now, rng.step)
	if err != nil {
		return nil, err
	}
	var live *Live
	if h.live != nil {
		l := h.live()
		live = &l
	}
	return buildPage(now, rng, sr, live), nil
}
