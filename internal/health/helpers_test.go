package health

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/courier"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// fakes scripts every input and the clock; tests change the fields
// between Check calls.
type fakes struct {
	mu        sync.Mutex
	now       time.Time
	queueN    int
	oldest    time.Time
	upstreams []courier.UpstreamStatus
	delivered int
	deferred  int
	outErr    error
	outSince  time.Time
	activity  []Activity
	actErr    error
	actSince  time.Time
	held      int
	heldErr   error
	differs   bool
	driftAt   time.Time
	reloadErr string
	reloadAt  time.Time
}

func (f *fakes) set(fn func(f *fakes)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakes) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakes) advance(d time.Duration) { f.set(func(f *fakes) { f.now = f.now.Add(d) }) }

func (f *fakes) inputs() Inputs {
	return Inputs{
		Queue: func() (int, time.Time) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.queueN, f.oldest
		},
		Upstreams: func() []courier.UpstreamStatus {
			f.mu.Lock()
			defer f.mu.Unlock()
			return append([]courier.UpstreamStatus(nil), f.upstreams...)
		},
		Outcomes: func(_ context.Context, since time.Time) (int, int, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.outSince = since
			return f.delivered, f.deferred, f.outErr
		},
		ServiceActivity: func(_ context.Context, since time.Time) ([]Activity, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.actSince = since
			return append([]Activity(nil), f.activity...), f.actErr
		},
		Held: func(context.Context) (int, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.held, f.heldErr
		},
		Drift: func() (bool, time.Time) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.differs, f.driftAt
		},
		ConfigReload: func() (string, time.Time) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.reloadErr, f.reloadAt
		},
	}
}

func newFakes() *fakes {
	return &fakes{now: t0, upstreams: []courier.UpstreamStatus{
		{Addr: "mx1.example:25", Up: true}, {Addr: "mx2.example:25", Up: true},
	}}
}

func newChecker(t *testing.T, f *fakes, mod func(o *Options)) *Checker {
	t.Helper()
	o := Options{Alerts: config.Default().Alerts, Inputs: f.inputs(), Now: f.clock, Host: "relay1"}
	if mod != nil {
		mod(&o)
	}
	return New(o)
}

// find returns the named check of r, failing the test when it is absent.
func find(t *testing.T, r Report, name string) Result {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("check %s missing from report %+v", name, r.Checks)
	return Result{}
}

func expect(t *testing.T, r Report, name string, state State, msgPart string) Result {
	t.Helper()
	c := find(t, r, name)
	if c.State != state {
		t.Fatalf("%s: state %v, want %v (message %q)", name, c.State, state, c.Message)
	}
	if !strings.Contains(c.Message, msgPart) {
		t.Fatalf("%s: message %q does not contain %q", name, c.Message, msgPart)
	}
	return c
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
