package main

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/queue"
)

// newHTTPHandler serves /healthz and /metrics.
func newHTTPHandler(cfg *config.Config, q *queue.Queue, c *courier.Courier) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "posthorn_queue_messages",
			Help: "Messages in the queue."}, func() float64 { return float64(q.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "posthorn_upstreams_up",
			Help: "Upstream relays currently considered up."}, func() float64 {
			n := 0
			for _, s := range c.Status() {
				if s.Up {
					n++
				}
			}
			return float64(n)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "posthorn_config_info",
			Help:        "The running configuration (fingerprint label).",
			ConstLabels: prometheus.Labels{"fingerprint": cfg.Fingerprint()}}, func() float64 { return 1 }),
	)
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
		resp := struct {
			Status            string     `json:"status"`
			Queue             int        `json:"queue"`
			Upstreams         []upstream `json:"upstreams"`
			ConfigFingerprint string     `json:"config_fingerprint"`
			Started           time.Time  `json:"started"`
		}{Status: "ok", Queue: q.Len(), ConfigFingerprint: cfg.Fingerprint(), Started: started}
		for _, s := range c.Status() {
			resp.Upstreams = append(resp.Upstreams, upstream{s.Addr, s.Up, s.ConsecutiveFailures, s.DownUntil, s.LastError})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
	return mux
}
