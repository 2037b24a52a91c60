package metrics

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gauges is a prometheus.Collector that reads the Sources at scrape time.
type gauges struct {
	src Sources
	ups *upstreamLabels

	queue, oldest                          *prometheus.Desc
	up, failures, nextProbe, downSince     *prometheus.Desc
	configInfo, configLoaded, drift, build *prometheus.Desc
}

func newGauges(src Sources, ups *upstreamLabels) *gauges {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &gauges{
		src: src, ups: ups,
		queue: d("posthorn_queue_messages",
			"Messages in the queue: fresh, waiting for a retry, held or in flight."),
		oldest: d("posthorn_queue_oldest_message_age_seconds",
			"Age of the oldest queued message (since its arrival); 0 when the queue is empty."),
		up: d("posthorn_upstream_up",
			"1 when the relay's last attempt succeeded (or there was none), 0 while it is marked down.", "upstream"),
		failures: d("posthorn_upstream_consecutive_failures",
			"Failed attempts through the relay since its last success.", "upstream"),
		nextProbe: d("posthorn_upstream_next_probe_timestamp_seconds",
			"Unix time when a down relay may be tried again; 0 when up.", "upstream"),
		downSince: d("posthorn_upstream_down_since_timestamp_seconds",
			"Unix time of the first failure of the relay's current run of failures; 0 when up.", "upstream"),
		configInfo: d("posthorn_config_info",
			"Always 1; the fingerprint label identifies the running configuration.", "fingerprint"),
		configLoaded: d("posthorn_config_loaded_timestamp_seconds",
			"Unix time when the running configuration was loaded."),
		drift: d("posthorn_config_drift",
			"1 when the configuration file on disk differs from the running configuration."),
		build: d("posthorn_build_info",
			"Always 1; labels identify the running binary.", "version", "goversion"),
	}
}

// Describe implements prometheus.Collector.
func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.queue, g.oldest, g.up, g.failures, g.nextProbe,
		g.downSince, g.configInfo, g.configLoaded, g.drift, g.build} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if g.src.Queue != nil {
		n, oldest := g.src.Queue()
		gauge(g.queue, float64(n))
		age := 0.0
		if n > 0 && !oldest.IsZero() {
			age = max(g.src.Now().Sub(oldest).Seconds(), 0)
		}
		gauge(g.oldest, age)
	}
	if g.src.Upstreams != nil {
		st := g.src.Upstreams()
		g.ups.set(st)
		for _, s := range st {
			up := 0.0
			if s.Up {
				up = 1
			}
			gauge(g.up, up, s.Addr)
			gauge(g.failures, float64(s.ConsecutiveFailures), s.Addr)
			gauge(g.nextProbe, unixOrZero(s.Up, s.DownUntil), s.Addr)
			gauge(g.downSince, unixOrZero(s.Up, s.DownSince), s.Addr)
		}
	}
	if g.src.Config != nil {
		fp, loaded := g.src.Config()
		gauge(g.configInfo, 1, fp)
		gauge(g.configLoaded, unixOrZero(false, loaded))
	}
	if g.src.Drift != nil {
		v := 0.0
		if g.src.Drift() {
			v = 1
		}
		gauge(g.drift, v)
	}
	if g.src.Version != "" {
		gauge(g.build, 1, g.src.Version, runtime.Version())
	}
}

// unixOrZero is t in Unix seconds, or 0 when up or t is zero.
func unixOrZero(up bool, t time.Time) float64 {
	if up || t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
