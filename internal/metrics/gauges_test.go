package metrics

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posthorn/posthorn/internal/courier"
)

// fakeSources is a daemon whose state the test changes between scrapes.
type fakeSources struct {
	mu        sync.Mutex
	n         int
	oldest    time.Time
	relays    []courier.UpstreamStatus
	fp        string
	loaded    time.Time
	drift     bool
	now       time.Time
	queueRead int
}

func (f *fakeSources) sources() Sources {
	return Sources{
		Queue: func() (int, time.Time) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.queueRead++
			return f.n, f.oldest
		},
		Upstreams: func() []courier.UpstreamStatus {
			f.mu.Lock()
			defer f.mu.Unlock()
			return append([]courier.UpstreamStatus(nil), f.relays...)
		},
		Config: func() (string, time.Time) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.fp, f.loaded
		},
		Drift: func() bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.drift
		},
		Now: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.now
		},
		Version: "1.2.3",
	}
}

func gaugeNames() []string {
	return []string{
		"posthorn_queue_messages", "posthorn_queue_oldest_message_age_seconds",
		"posthorn_upstream_up", "posthorn_upstream_consecutive_failures",
		"posthorn_upstream_next_probe_timestamp_seconds", "posthorn_upstream_down_since_timestamp_seconds",
		"posthorn_config_info", "posthorn_config_loaded_timestamp_seconds", "posthorn_config_drift",
		"posthorn_build_info",
	}
}

const gaugeHelp = `
# HELP posthorn_build_info Always 1; labels identify the running binary.
# TYPE posthorn_build_info gauge
posthorn_build_info{goversion="GOVERSION",version="1.2.3"} 1
# HELP posthorn_config_drift 1 when the configuration file on disk differs from the running configuration.
# TYPE posthorn_config_drift gauge
# HELP posthorn_config_info Always 1; the fingerprint label identifies the running configuration.
# TYPE posthorn_config_info gauge
# HELP posthorn_config_loaded_timestamp_seconds Unix time when the running configuration was loaded.
# TYPE posthorn_config_loaded_timestamp_seconds gauge
# HELP posthorn_queue_messages Messages in the queue: fresh, waiting for a retry, held or in flight.
# TYPE posthorn_queue_messages gauge
# HELP posthorn_queue_oldest_message_age_seconds Age of the oldest queued message (since its arrival); 0 when the queue is empty.
# TYPE posthorn_queue_oldest_message_age_seconds gauge
# HELP posthorn_upstream_consecutive_failures Failed attempts through the relay since its last success.
# TYPE posthorn_upstream_consecutive_failures gauge
# HELP posthorn_upstream_down_since_timestamp_seconds Unix time of the first failure of the relay's current run of failures; 0 when up.
# TYPE posthorn_upstream_down_since_timestamp_seconds gauge
# HELP posthorn_upstream_next_probe_timestamp_seconds Unix time when a down relay may be tried again; 0 when up.
# TYPE posthorn_upstream_next_probe_timestamp_seconds gauge
# HELP posthorn_upstream_up 1 when the relay's last attempt succeeded (or there was none), 0 while it is marked down.
# TYPE posthorn_upstream_up gauge
`

// expect interleaves the values into the HELP/TYPE header, series under the
// TYPE line of their metric.
func expect(values string) string {
	out := strings.ReplaceAll(gaugeHelp, "GOVERSION", runtime.Version())
	for _, line := range strings.Split(strings.TrimSpace(values), "\n") {
		line = strings.TrimSpace(line)
		name := line[:strings.IndexAny(line, "{ ")]
		typ := "# TYPE " + name + " gauge\n"
		out = strings.Replace(out, typ, typ+line+"\n", 1)
	}
	return out
}

func TestGaugesReadSourcesAtScrape(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	f := &fakeSources{
		n: 3, oldest: now.Add(-90 * time.Second), now: now,
		relays: []courier.UpstreamStatus{
			{Addr: "mx1.example.org:25", Up: true, LastError: "kept after recovery"},
			{Addr: "mx2.example.org:25", Up: false, ConsecutiveFailures: 4,
				DownUntil: now.Add(5 * time.Minute), DownSince: now.Add(-20 * time.Minute)},
		},
		fp: "6ad5e1", loaded: now.Add(-time.Hour), drift: true,
	}
	reg := prometheus.NewRegistry()
	if _, err := New(reg, f.sources()); err != nil {
		t.Fatal(err)
	}
	want := expect(`
posthorn_config_drift 1
posthorn_config_info{fingerprint="6ad5e1"} 1
posthorn_config_loaded_timestamp_seconds 1.6999964e+09
posthorn_queue_messages 3
posthorn_queue_oldest_message_age_seconds 90
posthorn_upstream_consecutive_failures{upstream="mx1.example.org:25"} 0
posthorn_upstream_consecutive_failures{upstream="mx2.example.org:25"} 4
posthorn_upstream_down_since_timestamp_seconds{upstream="mx1.example.org:25"} 0
posthorn_upstream_down_since_timestamp_seconds{upstream="mx2.example.org:25"} 1.6999988e+09
posthorn_upstream_next_probe_timestamp_seconds{upstream="mx1.example.org:25"} 0
posthorn_upstream_next_probe_timestamp_seconds{upstream="mx2.example.org:25"} 1.7000003e+09
posthorn_upstream_up{upstream="mx1.example.org:25"} 1
posthorn_upstream_up{upstream="mx2.example.org:25"} 0
`)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), gaugeNames()...); err != nil {
		t.Fatal(err)
	}

	// The daemon changes: queue drained, mx2 recovered, config reloaded
	// and in step with the file. The next scrape shows it, and the old
	// fingerprint's series is gone.
	f.mu.Lock()
	f.n, f.oldest = 0, time.Time{}
	f.relays[1] = courier.UpstreamStatus{Addr: "mx2.example.org:25", Up: true}
	f.fp, f.loaded, f.drift = "77b0c2", now, false
	f.mu.Unlock()
	want = expect(`
posthorn_config_drift 0
posthorn_config_info{fingerprint="77b0c2"} 1
posthorn_config_loaded_timestamp_seconds 1.7e+09
posthorn_queue_messages 0
posthorn_queue_oldest_message_age_seconds 0
posthorn_upstream_consecutive_failures{upstream="mx1.example.org:25"} 0
posthorn_upstream_consecutive_failures{upstream="mx2.example.org:25"} 0
posthorn_upstream_down_since_timestamp_seconds{upstream="mx1.example.org:25"} 0
posthorn_upstream_down_since_timestamp_seconds{upstream="mx2.example.org:25"} 0
posthorn_upstream_next_probe_timestamp_seconds{upstream="mx1.example.org:25"} 0
posthorn_upstream_next_probe_timestamp_seconds{upstream="mx2.example.org:25"} 0
posthorn_upstream_up{upstream="mx1.example.org:25"} 1
posthorn_upstream_up{upstream="mx2.example.org:25"} 1
`)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), gaugeNames()...); err != nil {
		t.Fatal(err)
	}
	if f.queueRead != 2 {
		t.Fatalf("queue read %d times for 2 scrapes", f.queueRead)
	}
}

func TestNilSourcesExportNoGauges(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := New(reg, Sources{}); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(reg, gaugeNames()...)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d gauge series without sources", n)
	}
}
