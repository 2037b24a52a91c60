package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
)

func newTest(t *testing.T, src Sources) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg, src)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestRecordCountsEvents(t *testing.T) {
	t.Parallel()
	relays := []courier.UpstreamStatus{{Addr: "mx1.example.org:25", Up: true}, {Addr: "mx2.example.org:25", Up: true}}
	m, reg := newTest(t, Sources{Upstreams: func() []courier.UpstreamStatus { return relays }})
	evs := []maillog.Event{
		{Kind: maillog.Session, Service: "gerrit", Client: "192.0.2.1"},
		{Kind: maillog.Session, Service: "", Client: "192.0.2.9"},
		{Kind: maillog.Accepted, Service: "gerrit", Rcpts: 2, QueueID: "q1"},
		{Kind: maillog.Accepted, Service: "sentry", Rcpts: 1, QueueID: "q2", Time: time.Unix(1_700_000_000, 5e8)},
		{Kind: maillog.Accepted, Service: "", Rcpts: 1, QueueID: "q3"},
		{Kind: maillog.Deferred, Service: "gerrit", Upstream: "mx1.example.org:25", Rcpt: "a@x"},
		{Kind: maillog.Deferred, Service: "gerrit", Upstream: "", Rcpt: "a@x"},
		{Kind: maillog.Delivered, Service: "gerrit", Upstream: "mx2.example.org:25", Delay: 3 * time.Second},
		{Kind: maillog.Delivered, Service: "gerrit", Upstream: "mx2.example.org:25", Delay: 2 * time.Hour},
		{Kind: maillog.Delivered, Service: "sentry", Upstream: "aspmx.l.google.com:25", Delay: time.Second / 2},
		{Kind: maillog.Bounced, Service: "unknown", Upstream: "mx1.example.org:25"},
		{Kind: maillog.Bounced, Service: "gerrit", Stage: "expired"},
		{Kind: maillog.Notice, Action: "bounce"},
		{Kind: maillog.Notice, Action: "delay"},
		{Kind: maillog.Notice, Action: "bounce"},
		{Kind: maillog.Rejected, Stage: "rcpt"},
		{Kind: maillog.Rejected, Stage: "rcpt"},
		{Kind: maillog.Rejected, Stage: "connect"},
		{Kind: maillog.Error, Stage: "save state"},
		{Kind: maillog.Removed, QueueID: "q1"},
		{Kind: maillog.Operator, Action: "hold"},
	}
	for _, e := range evs {
		m.Record(e)
	}
	checks := []struct {
		c    prometheus.Collector
		want float64
		name string
	}{
		{m.sessions.WithLabelValues("gerrit"), 1, "sessions gerrit"},
		{m.sessions.WithLabelValues("unknown"), 1, "sessions unknown"},
		{m.accepted.WithLabelValues("gerrit"), 1, "accepted gerrit"},
		{m.accepted.WithLabelValues("sentry"), 1, "accepted sentry"},
		{m.accepted.WithLabelValues("unknown"), 1, "accepted unknown"},
		{m.acceptedRcpts.WithLabelValues("gerrit"), 2, "rcpts gerrit"},
		{m.deferred.WithLabelValues("gerrit", "mx1.example.org:25"), 1, "deferred mx1"},
		{m.deferred.WithLabelValues("gerrit", "none"), 1, "deferred none"},
		{m.delivered.WithLabelValues("gerrit", "mx2.example.org:25"), 2, "delivered mx2"},
		{m.delivered.WithLabelValues("sentry", "direct"), 1, "delivered direct"},
		{m.bounced.WithLabelValues("unknown", "mx1.example.org:25"), 1, "bounced unknown"},
		{m.bounced.WithLabelValues("gerrit", "none"), 1, "bounced expired"},
		{m.notices.WithLabelValues("bounce"), 2, "notices bounce"},
		{m.notices.WithLabelValues("delay"), 1, "notices delay"},
		{m.rejected.WithLabelValues("rcpt"), 2, "rejected rcpt"},
		{m.rejected.WithLabelValues("connect"), 1, "rejected connect"},
		{m.errors.WithLabelValues("save state"), 1, "errors"},
		{m.lastAccepted.WithLabelValues("sentry"), 1_700_000_000.5, "last accepted sentry"},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	// No MX host name and no address became a label value.
	if n := testutil.CollectAndCount(m.delivered); n != 2 {
		t.Errorf("delivered has %d series, want 2", n)
	}
	if n := testutil.CollectAndCount(m.lastAccepted); n != 1 {
		t.Errorf("last accepted has %d series, want 1 (events without a time set none)", n)
	}
	if n := testutil.CollectAndCount(m.sessions); n != 2 {
		t.Errorf("sessions has %d series, want 2", n)
	}
	want := `
# HELP posthorn_delivery_latency_seconds Time from arrival to delivery of each delivered recipient, by service.
# TYPE posthorn_delivery_latency_seconds histogram
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="1"} 0
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="5"} 1
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="15"} 1
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="30"} 1
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="60"} 1
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="120"} 1
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="300"} 1
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="600"} 1
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="1800"} 1
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="3600"} 1
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="7200"} 2
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="14400"} 2
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="43200"} 2
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="86400"} 2
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="172800"} 2
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="432000"} 2
posthorn_delivery_latency_seconds_bucket{service="gerrit",le="+Inf"} 2
posthorn_delivery_latency_seconds_sum{service="gerrit"} 7203
posthorn_delivery_latency_seconds_count{service="gerrit"} 2
posthorn_delivery_latency_seconds_bucket{service="sentry",le="1"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="5"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="15"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="30"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="60"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="120"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="300"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="600"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="1800"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="3600"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="7200"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="14400"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="43200"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="86400"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="172800"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="432000"} 1
posthorn_delivery_latency_seconds_bucket{service="sentry",le="+Inf"} 1
posthorn_delivery_latency_seconds_sum{service="sentry"} 0.5
posthorn_delivery_latency_seconds_count{service="sentry"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "posthorn_delivery_latency_seconds"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestLabelValuesAreBounded(t *testing.T) {
	t.Parallel()
	m, _ := newTest(t, Sources{})
	for i := range maxLabelValues + 50 {
		m.Record(maillog.Event{Kind: maillog.Accepted, Service: fmt.Sprintf("svc%d", i), Rcpts: 1})
	}
	if n := testutil.CollectAndCount(m.accepted); n != maxLabelValues+1 {
		t.Fatalf("%d series, want %d plus other", n, maxLabelValues)
	}
	if got := testutil.ToFloat64(m.accepted.WithLabelValues("other")); got != 50 {
		t.Fatalf("other = %v, want 50", got)
	}
}

func TestRelayAddedByReloadIsLabelled(t *testing.T) {
	t.Parallel()
	relays := []courier.UpstreamStatus{{Addr: "mx1:25", Up: true}}
	now := time.Unix(1e9, 0)
	m, _ := newTest(t, Sources{
		Upstreams: func() []courier.UpstreamStatus { return relays },
		Now:       func() time.Time { return now },
	})
	relays = []courier.UpstreamStatus{{Addr: "mx1:25", Up: true}, {Addr: "mx3:25", Up: true}}
	now = now.Add(2 * refreshEvery)
	m.Record(maillog.Event{Kind: maillog.Delivered, Service: "a", Upstream: "mx3:25"})
	if got := testutil.ToFloat64(m.delivered.WithLabelValues("a", "mx3:25")); got != 1 {
		t.Fatalf("delivery through a new relay: %v, want 1", got)
	}
}

func TestNewRefusesDoubleRegistration(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := New(reg, Sources{}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg, Sources{}); err == nil {
		t.Fatal("second New on the same registry succeeded")
	}
}
