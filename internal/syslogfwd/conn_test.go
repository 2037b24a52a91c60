package syslogfwd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// switchDial dials whichever collector addr points at, or fails when it
// is empty, and counts attempts.
type switchDial struct {
	addr  atomic.Pointer[string]
	tries atomic.Int64
}

func (d *switchDial) set(a string) { d.addr.Store(&a) }

func (d *switchDial) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	d.tries.Add(1)
	a := d.addr.Load()
	if a == nil || *a == "" {
		return nil, errors.New("collector is down")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, *a)
}

func TestReconnectResendsBuffered(t *testing.T) {
	t.Parallel()
	var d switchDial
	first := newCollector(t, nil, false)
	d.set(first.addr())
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	// A discarding next handler enables nothing: forward at Info anyway.
	o.Level = slog.LevelInfo
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(slog.DiscardHandler))

	for i := range 3 {
		logger.Info("before", slog.Int("n", i))
	}
	first.wait(t, 3)
	d.set("")
	first.stop()
	waitFor(t, "the forwarder to notice the collector left", func() bool { return !f.Connected() })
	for i := range 5 {
		logger.Info("while away", slog.Int("n", i))
	}
	second := newCollector(t, nil, false)
	d.set(second.addr())
	msgs := second.wait(t, 5)
	for i, s := range msgs {
		if m := parse(t, s); !strings.Contains(m.msg, fmt.Sprintf(`"msg":"while away","n":%d}`, i)) {
			t.Errorf("message %d after reconnect = %s", i, m.msg)
		}
	}
	if f.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", f.Dropped())
	}
}

func TestBufferOverflowDropsOldest(t *testing.T) {
	t.Parallel()
	var d switchDial
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	o.Buffer = 10
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil)))
	for i := range 25 {
		logger.Info("queued", slog.Int("n", i))
	}
	if f.Dropped() != 15 || f.Queued() != 10 {
		t.Fatalf("Dropped = %d, Queued = %d; want 15 and 10", f.Dropped(), f.Queued())
	}
	waitFor(t, "a failed dial", func() bool { return d.tries.Load() > 0 })
	col := newCollector(t, nil, false)
	d.set(col.addr())
	msgs := col.wait(t, 10)
	for i, s := range msgs {
		if m := parse(t, s); !strings.Contains(m.msg, fmt.Sprintf(`"n":%d}`, 15+i)) {
			t.Errorf("message %d = %s, want record %d (the oldest are dropped)", i, m.msg, 15+i)
		}
	}
}

// TestNeverBlocks logs 100k records while the collector accepts but never
// reads, so the socket buffers fill and the forwarder's write blocks. Every
// logging call must still return.
func TestNeverBlocks(t *testing.T) {
	t.Parallel()
	col := newCollector(t, nil, true)
	o := testOptions(col.addr())
	o.Buffer = 1000
	o.FlushTimeout = 100 * time.Millisecond
	f := New(o)
	start(t, f)
	next := &counting{}
	logger := slog.New(f.Handler(next)).With(slog.String("log", "mail"))
	pad := strings.Repeat("x", 500)
	const n = 100_000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			logger.Info("accepted", slog.String("queue_id", "Q"), slog.Int("n", i), slog.String("pad", pad))
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("logging blocked: %d of %d Handle calls returned", next.count(), n)
	}
	if next.count() != n {
		t.Errorf("next handler got %d records, want %d", next.count(), n)
	}
	if f.Dropped() == 0 {
		t.Error("Dropped = 0, yet 50 MB were logged to a collector that reads nothing")
	}
	closed := make(chan struct{})
	go func() { f.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return while the collector was stuck")
	}
}

// TestFlushOnStop: records queued before Run are written when Run's
// context has already ended, within the flush.
func TestFlushOnStop(t *testing.T) {
	t.Parallel()
	col := newCollector(t, nil, false)
	f := New(testOptions(col.addr()))
	logger := slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil)))
	for i := range 50 {
		logger.Info("queued", slog.Int("n", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	col.wait(t, 50)
	if f.Dropped() != 0 || f.Queued() != 0 {
		t.Errorf("Dropped = %d, Queued = %d; want 0 and 0", f.Dropped(), f.Queued())
	}
	logger.Info("after stop")
	if f.Dropped() != 1 {
		t.Errorf("Dropped = %d after logging to a stopped forwarder, want 1", f.Dropped())
	}
	if err := f.Run(context.Background()); err == nil {
		t.Error("second Run returned nil")
	}
	f.Close()
}

// TestFlushUnreachable: when the collector cannot be reached at shutdown,
// what is queued counts as dropped and Run still returns.
func TestFlushUnreachable(t *testing.T) {
	t.Parallel()
	var d switchDial
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(slog.NewJSONHandler(&lines{}, nil)))
	for range 7 {
		logger.Info("lost")
	}
	waitFor(t, "a failed dial", func() bool { return d.tries.Load() > 0 })
	f.Close()
	if f.Dropped() != 7 || f.Queued() != 0 {
		t.Errorf("Dropped = %d, Queued = %d; want 7 and 0", f.Dropped(), f.Queued())
	}
}

func TestErrorLogRateLimited(t *testing.T) {
	t.Parallel()
	var d switchDial
	errs := &counting{}
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	o.ReconnectMin, o.ReconnectMax = time.Millisecond, time.Millisecond
	o.ErrorInterval = time.Hour
	o.Logger = slog.New(errs)
	f := New(o)
	start(t, f)
	waitFor(t, "20 dial attempts", func() bool { return d.tries.Load() >= 20 })
	if errs.count() != 1 {
		t.Errorf("%d error logs for %d failed dials, want 1 per interval", errs.count(), d.tries.Load())
	}
}

func TestCloseWithoutRun(t *testing.T) {
	t.Parallel()
	f := New(Options{Address: "127.0.0.1:1"})
	logger := slog.New(f.Handler(&counting{}))
	logger.Error("queued, then dropped by Close")
	f.Close()
	f.Close()
	logger.Error("dropped")
	if f.Dropped() != 2 || f.Queued() != 0 {
		t.Errorf("Dropped = %d, Queued = %d; want 2 and 0", f.Dropped(), f.Queued())
	}
}

// TestWriteTimeoutResends: the first collector stops reading, so a write
// times out part-way; the forwarder reconnects to a second collector and
// writes the failed batch again. Every record arrives at one of the two
// (the first one's buffered bytes are read once it is released).
func TestWriteTimeoutResends(t *testing.T) {
	t.Parallel()
	var d switchDial
	stuck := newCollector(t, nil, true)
	d.set(stuck.addr())
	o := testOptions("collector.example:6514")
	o.Dial = d.dial
	o.Timeout = 300 * time.Millisecond
	const n = 20_000
	o.Buffer = n
	f := New(o)
	start(t, f)
	logger := slog.New(f.Handler(&counting{}))
	waitFor(t, "a connection to the stuck collector", f.Connected)
	pad := strings.Repeat("p", 1000)
	for i := range n {
		logger.Info("r", slog.Int("n", i), slog.String("pad", pad))
	}
	second := newCollector(t, nil, false)
	d.set(second.addr())
	waitFor(t, "a write to the stuck collector to time out", func() bool { return d.tries.Load() >= 2 })
	stuck.release()
	re := regexp.MustCompile(`"n":(\d+),`)
	seen := make(map[string]bool)
	scanned := make([]int, 2)
	waitFor(t, "every record at one of the collectors", func() bool {
		for i, col := range []*collector{stuck, second} {
			col.mu.Lock()
			for _, s := range col.msgs[scanned[i]:] {
				if m := re.FindStringSubmatch(s); m != nil {
					seen[m[1]] = true
				}
			}
			scanned[i] = len(col.msgs)
			col.mu.Unlock()
		}
		return len(seen) == n
	})
	if f.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", f.Dropped())
	}
	if second.count() == 0 {
		t.Error("nothing reached the second collector: the stuck one took everything, the test proves nothing")
	}
}
