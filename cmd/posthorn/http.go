package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/dashboard"
	"github.com/posthorn/posthorn/internal/health"
	"github.com/posthorn/posthorn/internal/metrics"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/trace"
)

// newMetrics registers the metrics on reg; the sources read the daemon's
// current state at scrape time, across reloads.
func (d *daemon) newMetrics(reg *prometheus.Registry) (*metrics.Metrics, error) {
	return metrics.New(reg, metrics.Sources{
		Queue:     d.q.Stats,
		Upstreams: func() []courier.UpstreamStatus { return d.courier().Status() },
		Config: func() (string, time.Time) {
			r := d.run.Load()
			return r.fingerprint, r.loaded
		},
		Drift: func() bool {
			differs, _, _ := d.Drift()
			return differs
		},
		Version: version,
	})
}

// httpHandler serves /healthz and /metrics on the HTTP listener.
func (d *daemon) httpHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /healthz", d.health)
	mux.Handle("HEAD /healthz", d.health)
	operator := map[string]http.Handler{"GET /dashboard": dashboard.New(d.stats, d.live, time.Now)}
	if d.trace != nil {
		th := trace.Handler(d.trace)
		operator["GET /trace"] = th
		operator["GET /api/v1/trace"] = th
	}
	// Everything else goes through the web interface's sessions, CSRF
	// check and security headers; the operator pages too.
	app := http.NewServeMux()
	mux.Handle("/", d.app.routes(app, operator))
	return mux
}

// newHealth builds the built-in checks over the daemon's state; /healthz
// also carries the queue, the upstreams and the running configuration.
func (d *daemon) newHealth(started time.Time) *health.Checker {
	cfg := d.config()
	return health.New(health.Options{
		Alerts: cfg.Alerts,
		Inputs: health.Inputs{
			Queue:     d.q.Stats,
			Upstreams: func() []courier.UpstreamStatus { return d.courier().Status() },
			Drift: func() (bool, time.Time) {
				differs, since, _ := d.Drift()
				return differs, since
			},
			Outcomes:        d.outcomes,
			Held:            d.heldCount,
			ServiceActivity: d.serviceActivity,
			SpoolWrite: func() spool.WriteHealth {
				_ = d.q.ProbeSpool() // a failure shows in WriteHealth
				return d.q.WriteHealth()
			},
			ConfigReload: func() (string, time.Time) {
				if l := d.last.Load(); l != nil {
					return l.err, l.at
				}
				return "", time.Time{}
			},
		},
		Host:   cfg.Hostname,
		Logger: d.logger,
		Extra:  func() map[string]any { return d.healthExtra(started) },
	})
}

func (d *daemon) healthExtra(started time.Time) map[string]any {
	type upstream struct {
		Addr      string    `json:"addr"`
		Up        bool      `json:"up"`
		Failures  int       `json:"consecutive_failures"`
		DownSince time.Time `json:"down_since,omitzero"`
		DownUntil time.Time `json:"down_until,omitzero"`
		LastError string    `json:"last_error,omitempty"`
	}
	type drift struct {
		Differs bool      `json:"differs"`
		Since   time.Time `json:"since,omitzero"`
		Reason  string    `json:"reason,omitempty"`
	}
	run := d.run.Load()
	n, oldest := d.q.Stats()
	ups := []upstream{}
	for _, s := range d.courier().Status() {
		ups = append(ups, upstream{s.Addr, s.Up, s.ConsecutiveFailures, s.DownSince, s.DownUntil, s.LastError})
	}
	var dr drift
	dr.Differs, dr.Since, dr.Reason = d.Drift()
	extra := map[string]any{
		"queue": n, "upstreams": ups, "config_fingerprint": run.fingerprint,
		"config_loaded": run.loaded, "config_drift": dr, "started": started, "version": version,
	}
	if !oldest.IsZero() {
		extra["oldest_queued"] = oldest
	}
	if l := d.last.Load(); l != nil && l.err != "" {
		extra["last_reload_error"] = l.err
	}
	return extra
}
