package courier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
)

func TestOnlyOneProbeAtATime(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h := &health{addr: "relay:25"}
	if h.admit(now) != admitUp {
		t.Fatal("a fresh relay is not up")
	}
	h.failed(now, errors.New("refused"), time.Minute, time.Hour)
	if h.admit(now.Add(30*time.Second)) != admitSkip {
		t.Fatal("a down relay was admitted before its down period ended")
	}
	later := now.Add(2 * time.Minute)
	if h.admit(later) != admitProbe {
		t.Fatal("the first caller after the down period does not probe")
	}
	if h.admit(later) != admitSkip {
		t.Fatal("a second caller probes at the same time")
	}
	h.endProbe() // the prober did not get to use it
	if h.admit(later) != admitProbe {
		t.Fatal("an unused probe claim was not released")
	}
	h.succeeded()
	if h.admit(later) != admitUp || !h.status().Up {
		t.Fatal("success did not bring the relay up")
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestTransactionIsLogged(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr()), Logger: logger})
	wantDelivered(t, deliver(t, c, message("Q123", "a@example.net", "b@example.net")), u.Addr())

	buf.mu.Lock()
	line := bytes.TrimSpace(buf.b.Bytes())
	buf.mu.Unlock()
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil {
		t.Fatalf("log %q: %v", line, err)
	}
	if rec["queue_id"] != "Q123" || rec["upstream"] != u.Addr() || rec["rcpts"] != 2.0 || rec["code"] != 250.0 {
		t.Errorf("log record = %v", rec)
	}
}

func BenchmarkDeliverPooled(b *testing.B) {
	u := testutil.NewUpstream(b)
	c := New(Options{Upstreams: relays(TLSNone, u.Addr()), Hostname: "bench.test"})
	defer c.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		res := c.Deliver(ctx, message(fmt.Sprintf("b%d", i), "a@example.net"))
		if res[0].Err != nil {
			b.Fatal(res[0].Err)
		}
	}
}
