package queue

import (
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/testutil"
)

// TestSetPolicyLeavesAttemptsInFlight: an attempt that started under one
// policy finishes under it; attempts starting after SetPolicy use the new
// one.
func TestSetPolicyLeavesAttemptsInFlight(t *testing.T) {
	t.Parallel()
	a, b := testutil.NewUpstream(t), testutil.NewUpstream(t)
	a.Start()
	b.Start()
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	a.SetScript(testutil.Script{Rcpt: func(string) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		return nil
	}})
	e := start(t, setup{upstreams: []string{a.Addr()}})
	first := e.submit("s@example.org", "r1@example.net")
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("first attempt never reached upstream A")
	}
	cb := courier.New(courier.Options{Hostname: "relay.test",
		Upstreams:      []courier.Upstream{{Addr: b.Addr(), TLS: courier.TLSNone}},
		ConnectTimeout: time.Second, CommandTimeout: 2 * time.Second, DataTimeout: 2 * time.Second,
		DownBackoff: 20 * time.Millisecond, DownBackoffMax: 50 * time.Millisecond})
	t.Cleanup(func() { cb.Close() })
	e.q.SetPolicy(Policy{Courier: cb, Hostname: "relay.test", RetrySchedule: []time.Duration{30 * time.Millisecond},
		MaxLifetime: time.Hour})
	second := e.submit("s@example.org", "r2@example.net")
	gotB := b.Wait(t, 1, 10*time.Second)
	close(release)
	gotA := a.Wait(t, 1, 10*time.Second)
	e.waitEmpty()
	if len(gotA) != 1 || gotA[0].Rcpts[0] != "r1@example.net" || len(gotB) != 1 || gotB[0].Rcpts[0] != "r2@example.net" {
		t.Fatalf("A got %d (%v), B got %d (%v): want %s via A (old policy) and %s via B (new)",
			len(gotA), gotA, len(gotB), gotB, first, second)
	}
}
