package main

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/metrics"
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
	started := time.Now()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		type upstream struct {
			Addr      string    `json:"addr"`
			Up        bool      `json:"up"`
			Failures  int       `json:"consecutive_failures"`
			DownUntil time.Time `json:"down_until,omitzero"`
			LastError string    `json:"last_error,omitempty"`
		}
		type drift struct {
			Differs bool      `json:"differs"`
			Since   time.Time `json:"since,omitzero"`
			Reason  string    `json:"reason,omitempty"`
		}
		run := d.run.Load()
		resp := struct {
			Status            string     `json:"status"`
			Queue             int        `json:"queue"`
			Upstreams         []upstream `json:"upstreams"`
			ConfigFingerprint string     `json:"config_fingerprint"`
			ConfigLoaded      time.Time  `json:"config_loaded"`
			ConfigDrift       drift      `json:"config_drift"`
			LastReloadError   string     `json:"last_reload_error,omitempty"`
			Started           time.Time  `json:"started"`
		}{Status: "ok", Queue: d.q.Len(), ConfigFingerprint: run.fingerprint, ConfigLoaded: run.loaded, Started: started}
		for _, s := range d.courier().Status() {
			resp.Upstreams = append(resp.Upstreams, upstream{s.Addr, s.Up, s.ConsecutiveFailures, s.DownUntil, s.LastError})
		}
		resp.ConfigDrift.Differs, resp.ConfigDrift.Since, resp.ConfigDrift.Reason = d.Drift()
		if l := d.last.Load(); l != nil {
			resp.LastReloadError = l.err
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
	return mux
}
