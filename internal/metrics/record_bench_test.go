package metrics

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
)

func TestRecordConcurrently(t *testing.T) {
	t.Parallel()
	m, _ := newTest(t, Sources{Upstreams: func() []courier.UpstreamStatus {
		return []courier.UpstreamStatus{{Addr: "mx1:25", Up: true}}
	}})
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := []string{"a", "b"}[w%2]
			for range each {
				m.Record(maillog.Event{Kind: maillog.Accepted, Service: svc, Rcpts: 1, Time: time.Now()})
				m.Record(maillog.Event{Kind: maillog.Delivered, Service: svc, Upstream: "mx1:25", Delay: time.Second})
			}
		}()
	}
	wg.Wait()
	for _, svc := range []string{"a", "b"} {
		if got := testutil.ToFloat64(m.accepted.WithLabelValues(svc)); got != workers/2*each {
			t.Errorf("accepted %s = %v, want %d", svc, got, workers/2*each)
		}
		if got := testutil.ToFloat64(m.delivered.WithLabelValues(svc, "mx1:25")); got != workers/2*each {
			t.Errorf("delivered %s = %v, want %d", svc, got, workers/2*each)
		}
	}
}

// BenchmarkRecord measures the cost Record adds to each mail log event on
// the mail path (one accepted and one delivered event per iteration).
func BenchmarkRecord(b *testing.B) {
	m, err := New(prometheus.NewRegistry(), Sources{Upstreams: func() []courier.UpstreamStatus {
		return []courier.UpstreamStatus{{Addr: "mx1:25", Up: true}}
	}})
	if err != nil {
		b.Fatal(err)
	}
	acc := maillog.Event{Kind: maillog.Accepted, Service: "gerrit", Rcpts: 1, Time: time.Now()}
	del := maillog.Event{Kind: maillog.Delivered, Service: "gerrit", Upstream: "mx1:25", Delay: time.Second}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Record(acc)
			m.Record(del)
		}
	})
}
