package queue

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/testutil"
)

// deferAll answers every recipient with 451.
type deferAll struct{}

func (deferAll) Deliver(_ context.Context, m *courier.Message) []courier.Result {
	res := make([]courier.Result, len(m.Rcpts))
	for i, r := range m.Rcpts {
		res[i] = courier.Result{Rcpt: r, Err: smtperr.New(451, [3]int{4, 3, 0}, "try later"), Upstream: "up:25"}
	}
	return res
}

// monoClock is a settable monotonic clock.
type monoClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *monoClock) Now() time.Duration      { c.mu.Lock(); defer c.mu.Unlock(); return c.d }
func (c *monoClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.d += d }

// stepped is a queue driven by hand (no workers) with a wall clock that
// the test can step and a separate monotonic clock.
type stepped struct {
	t     *testing.T
	dir   string
	store *spool.Store
	q     *Queue
	wall  *testutil.Clock
	mono  *monoClock
}

const lifetime = 5 * 24 * time.Hour

func newStepped(t *testing.T, dir string, wall *testutil.Clock) *stepped {
	t.Helper()
	store, err := spool.Open(filepath.Join(dir, "queue"), filepath.Join(dir, "quarantine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := &stepped{t: t, dir: dir, store: store, wall: wall, mono: &monoClock{}}
	s.q = New(Options{Store: store, Courier: deferAll{}, Hostname: "relay.test",
		RetrySchedule: []time.Duration{time.Minute, time.Hour}, MaxLifetime: lifetime,
		Now: wall.Now, Mono: s.mono.Now, Jitter: func(d time.Duration) time.Duration { return d }})
	if _, _, err := s.q.Recover(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *stepped) submit() string {
	s.t.Helper()
	w, err := s.q.Create(&spool.Envelope{From: "alice@example.org", Rcpts: []string{"bob@example.net"}, Arrival: s.wall.Now()})
	if err != nil {
		s.t.Fatal(err)
	}
	w.Write([]byte("From: alice@example.org\r\nSubject: x\r\n\r\nhi\r\n"))
	m, err := s.q.Commit(w)
	if err != nil {
		s.t.Fatal(err)
	}
	return m.Env.ID
}

// attemptDue runs the attempt of the next due message and returns its id,
// "" when none is due.
func (s *stepped) attemptDue() string {
	s.t.Helper()
	s.q.mu.Lock()
	it, _ := s.q.pick(s.wall.Now())
	s.q.mu.Unlock()
	if it == nil {
		return ""
	}
	s.q.attempt(context.Background(), it)
	return it.id
}

// state returns the recipient state of id ("" when it left the queue) and
// whether a bounce was queued.
func (s *stepped) state(id string) (string, bool) {
	st, bounce := "", false
	for _, m := range s.q.List() {
		if m.ID == id {
			st = m.Recipients[0].State
		}
		if m.From == "" {
			bounce = true
		}
	}
	return st, bounce
}

func TestForwardClockStepDoesNotExpire(t *testing.T) {
	t.Parallel()
	wall := testutil.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	s := newStepped(t, t.TempDir(), wall)
	id := s.submit()
	if got := s.attemptDue(); got != id {
		t.Fatalf("first attempt ran %q, want %s", got, id)
	}
	// NTP steps the wall clock ten days forward; a minute really passed.
	wall.Advance(10 * 24 * time.Hour)
	s.mono.Advance(time.Minute)
	if got := s.attemptDue(); got != id {
		t.Fatalf("retry after the step ran %q, want %s", got, id)
	}
	if st, bounce := s.state(id); st != "pending" || bounce {
		t.Fatalf("after a +10 days step, one minute after arrival: state %q, bounce %v; want pending, no bounce", st, bounce)
	}
	// The retry was scheduled by the schedule, not at once.
	if got := s.attemptDue(); got != "" {
		t.Fatalf("%s retried again at once", got)
	}

	// The saved age survives a restart at the stepped wall time.
	s2 := newStepped(t, s.dir, wall)
	wall.Advance(time.Hour)
	s2.mono.Advance(time.Hour)
	if got := s2.attemptDue(); got != id {
		t.Fatalf("after restart ran %q, want %s", got, id)
	}
	if st, bounce := s2.state(id); st != "pending" || bounce {
		t.Fatalf("after restart: state %q, bounce %v; want pending", st, bounce)
	}

	// Once the message has really been queued for max_lifetime, it expires.
	for range 200 {
		wall.Advance(time.Hour)
		s2.mono.Advance(time.Hour)
		s2.attemptDue()
		if st, _ := s2.state(id); st == "" {
			break
		}
	}
	if st, bounce := s2.state(id); st != "" || !bounce {
		t.Fatalf("after %v of real queueing: state %q, bounce %v; want expired with a bounce", lifetime, st, bounce)
	}
}

func TestBackwardClockStepDoesNotStallRetries(t *testing.T) {
	t.Parallel()
	wall := testutil.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	s := newStepped(t, t.TempDir(), wall)
	id := s.submit()
	s.attemptDue()
	// The clock is stepped back ten days; the retry (due in a minute) must
	// still come a minute later, not in ten days.
	wall.Advance(-10 * 24 * time.Hour)
	s.mono.Advance(30 * time.Second)
	if got := s.attemptDue(); got != "" {
		t.Fatalf("%s retried before its delay", got)
	}
	s.mono.Advance(31 * time.Second)
	if got := s.attemptDue(); got != id {
		t.Fatalf("retry after a backward step: ran %q, want %s", got, id)
	}
	if st, _ := s.state(id); st != "pending" {
		t.Fatalf("state %q", st)
	}
}

func TestRecoveredFarFutureRetryIsBounded(t *testing.T) {
	t.Parallel()
	wall := testutil.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	dir := t.TempDir()
	s := newStepped(t, dir, wall)
	id := s.submit()
	s.attemptDue()
	// Restarted with the clock ten days back: the saved NextAttempt is ten
	// days away; it is retried within twice the longest step.
	wall.Advance(-10 * 24 * time.Hour)
	s2 := newStepped(t, dir, wall)
	s2.mono.Advance(2*time.Hour + 2*time.Second)
	if got := s2.attemptDue(); got != id {
		t.Fatalf("ran %q, want %s", got, id)
	}
}

func TestWallAgeStillExpiresWithoutSteps(t *testing.T) {
	t.Parallel()
	wall := testutil.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	s := newStepped(t, t.TempDir(), wall)
	id := s.submit()
	for range 200 {
		s.attemptDue()
		if st, _ := s.state(id); st == "" {
			break
		}
		wall.Advance(time.Hour)
		s.mono.Advance(time.Hour)
	}
	if st, bounce := s.state(id); st != "" || !bounce {
		t.Fatalf("state %q, bounce %v; want expired with a bounce", st, bounce)
	}
	n := 0
	for _, m := range s.q.List() {
		n++
		if m.From != "" {
			t.Errorf("left in the queue: %+v", m)
		}
	}
	if n != 1 {
		t.Errorf("%d messages queued, want the bounce only", n)
	}
}
