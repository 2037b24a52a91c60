// Package metrics exports Posthorn's state to Prometheus.
//
// Two kinds of series come from two places:
//
//   - Counters and the delivery latency histogram are driven by the mail log:
//     *Metrics is a maillog.Sink, and Record turns each event into counter
//     increments (accepted → accepted, delivered → delivered + latency,
//     deferred, bounced, notice, rejected, error, session), plus the time of
//     each service's last accepted message. Record only updates in-memory
//     values, so it never blocks the mail path.
//   - Gauges (queue size and age, per-upstream health, running config, drift,
//     build) are read at scrape time from the Sources the daemon passes in;
//     nothing is cached between scrapes, so a reload or a recovered relay is
//     visible at the next scrape.
//
// Label values are bounded: services come from the configuration (plus
// "unknown" and "posthorn" for our own notices), upstreams are the configured
// relays (plus "none" when no relay answered and "direct" for MX delivery),
// stages and operations are fixed strings in the code. As a last guard,
// every label keeps at most a fixed number of distinct values and folds the
// rest into "other". Addresses and queue ids never become label values.
//
// Everything is registered on the prometheus.Registerer given to New; the
// package has no global state.
package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
)

// Sources are the daemon's read-only views that gauges read at scrape time.
// Any of the funcs may be nil: its series are then not exported.
type Sources struct {
	// Queue returns the number of queued messages and the arrival of the
	// oldest one (zero when empty); (*queue.Queue).Stats is one.
	Queue func() (n int, oldest time.Time)
	// Upstreams returns the health of the configured relays;
	// (*courier.Courier).Status is one. It also tells Record which upstream
	// label values are configured relays.
	Upstreams func() []courier.UpstreamStatus
	// Config returns the running configuration's fingerprint and when it
	// was loaded.
	Config func() (fingerprint string, loaded time.Time)
	// Drift reports whether the file on disk differs from the running
	// configuration.
	Drift func() bool
	// Now is the clock for the oldest-message age; default time.Now.
	Now func() time.Time
	// Version, when set, is exported as posthorn_build_info{version}.
	Version string
}

// Label values that do not come from events.
const (
	labelUnknown = "unknown" // event without a service
	labelNone    = "none"    // no upstream answered
	labelDirect  = "direct"  // delivered by MX lookup, not through a relay
	labelOther   = "other"   // past a label's distinct-value limit
)

// maxLabelValues bounds the distinct values of one label.
const maxLabelValues = 200

// latencyBuckets span one second to five days (the default max lifetime).
func latencyBuckets() []float64 {
	return []float64{
		1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600,
		2 * 3600, 4 * 3600, 12 * 3600, 24 * 3600, 2 * 24 * 3600, 5 * 24 * 3600,
	}
}

// Metrics holds every series; it is a maillog.Sink.
type Metrics struct {
	accepted      *prometheus.CounterVec
	acceptedRcpts *prometheus.CounterVec
	delivered     *prometheus.CounterVec
	deferred      *prometheus.CounterVec
	bounced       *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	notices       *prometheus.CounterVec
	sessions      *prometheus.CounterVec
	errors        *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	lastAccepted  *prometheus.GaugeVec

	services, stages, ops, kinds *labelSet
	upstreams                    *upstreamLabels
}

// New registers every series on reg and returns the sink to add to the mail
// log. It fails if a name is already registered on reg.
func New(reg prometheus.Registerer, src Sources) (*Metrics, error) {
	if src.Now == nil {
		src.Now = time.Now
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		accepted: counter("posthorn_messages_accepted_total",
			"Messages accepted into the queue (SMTP or sendmail), by submitting service.", "service"),
		acceptedRcpts: counter("posthorn_recipients_accepted_total",
			"Recipients of the messages accepted into the queue, by submitting service.", "service"),
		delivered: counter("posthorn_recipients_delivered_total",
			"Recipients delivered, by service and the upstream that took them.", "service", "upstream"),
		deferred: counter("posthorn_recipients_deferred_total",
			"Delivery attempts that failed temporarily for a recipient (it stays queued), by service and upstream.",
			"service", "upstream"),
		bounced: counter("posthorn_recipients_bounced_total",
			"Recipients failed permanently or expired (a bounce follows unless the sender is null), by service and upstream.",
			"service", "upstream"),
		rejected: counter("posthorn_smtp_rejections_total",
			"SMTP connections, commands or messages refused, by stage.", "stage"),
		notices: counter("posthorn_notices_total",
			"Notices generated for senders, by kind (bounce or delay).", "kind"),
		sessions: counter("posthorn_smtp_sessions_total",
			"SMTP connections opened, by the service the client belongs to.", "service"),
		errors: counter("posthorn_maillog_errors_total",
			"Failures on our side recorded in the mail log, by operation.", "op"),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "posthorn_delivery_latency_seconds",
			Help:    "Time from arrival to delivery of each delivered recipient, by service.",
			Buckets: latencyBuckets(),
		}, []string{"service"}),
		lastAccepted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "posthorn_service_last_accepted_timestamp_seconds",
			Help: "Unix time of the last message accepted from the service, since the daemon started.",
		}, []string{"service"}),
		services: newLabelSet(maxLabelValues),
		stages:   newLabelSet(maxLabelValues),
		ops:      newLabelSet(maxLabelValues),
		kinds:    newLabelSet(maxLabelValues),
	}
	m.upstreams = newUpstreamLabels(src.Upstreams, src.Now, maxLabelValues)
	cs := []prometheus.Collector{
		m.accepted, m.acceptedRcpts, m.delivered, m.deferred, m.bounced, m.rejected,
		m.notices, m.sessions, m.errors, m.latency, m.lastAccepted, newGauges(src, m.upstreams),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// Record counts one mail log event. It only increments counters.
func (m *Metrics) Record(e maillog.Event) {
	switch e.Kind {
	case maillog.Accepted:
		svc := m.service(e.Service)
		m.accepted.WithLabelValues(svc).Inc()
		m.acceptedRcpts.WithLabelValues(svc).Add(float64(max(e.Rcpts, 0)))
		if !e.Time.IsZero() {
			m.lastAccepted.WithLabelValues(svc).Set(float64(e.Time.UnixNano()) / 1e9)
		}
	case maillog.Delivered:
		svc := m.service(e.Service)
		m.delivered.WithLabelValues(svc, m.upstreams.value(e.Upstream)).Inc()
		m.latency.WithLabelValues(svc).Observe(max(e.Delay, 0).Seconds())
	case maillog.Deferred:
		m.deferred.WithLabelValues(m.service(e.Service), m.upstreams.value(e.Upstream)).Inc()
	case maillog.Bounced:
		m.bounced.WithLabelValues(m.service(e.Service), m.upstreams.value(e.Upstream)).Inc()
	case maillog.Rejected:
		m.rejected.WithLabelValues(m.stages.value(e.Stage, labelUnknown)).Inc()
	case maillog.Notice:
		m.notices.WithLabelValues(m.kinds.value(e.Action, labelUnknown)).Inc()
	case maillog.Session:
		m.sessions.WithLabelValues(m.service(e.Service)).Inc()
	case maillog.Error:
		m.errors.WithLabelValues(m.ops.value(e.Stage, labelUnknown)).Inc()
	}
}

func (m *Metrics) service(s string) string { return m.services.value(s, labelUnknown) }
