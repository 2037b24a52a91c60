package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/config"
)

// hook is a webhook receiver that fails on cue and can hold requests.
type hook struct {
	srv      *httptest.Server
	failing  atomic.Int32 // answer 500 to this many more requests
	failAll  atomic.Bool  // answer 500 to every request
	attempts atomic.Int32
	refused  atomic.Int32  // posts answered with an error
	entered  chan struct{} // one send per request, when gated
	release  chan struct{} // closed by open to let gated requests answer
	once     sync.Once
	got      chan map[string]any
	// refusedChecks gets the check of each refused post (when not full).
	refusedChecks chan string
}

func newHook(t *testing.T, gated bool) *hook {
	t.Helper()
	h := &hook{got: make(chan map[string]any, 64), refusedChecks: make(chan string, 1024)}
	if gated {
		h.entered = make(chan struct{}, 64)
		h.release = make(chan struct{})
	}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.attempts.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if h.entered != nil {
			select {
			case h.entered <- struct{}{}:
			default:
			}
			select {
			case <-h.release:
			case <-r.Context().Done():
				return
			}
		}
		if h.failAll.Load() || h.failing.Add(-1) >= 0 {
			h.refused.Add(1)
			var m map[string]any
			if body, err := io.ReadAll(r.Body); err == nil && json.Unmarshal(body, &m) == nil {
				select {
				case h.refusedChecks <- fmt.Sprint(m["check"]):
				default:
				}
			}
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.got <- m
	}))
	t.Cleanup(h.srv.Close)
	t.Cleanup(h.open)
	return h
}

// open lets gated requests answer, now and from now on.
func (h *hook) open() {
	if h.release != nil {
		h.once.Do(func() { close(h.release) })
	}
}

// next waits for the next accepted notice and checks its check and states.
func (h *hook) next(t *testing.T, check string, state, previous State) map[string]any {
	t.Helper()
	select {
	case m := <-h.got:
		if m["check"] != check || m["state"] != state.String() || m["previous"] != previous.String() {
			t.Fatalf("notice %v, want %s %v→%v", m, check, previous, state)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("no notice for %s %v→%v", check, previous, state)
		return nil
	}
}

func webhookChecker(t *testing.T, f *fakes, url string) *Checker {
	t.Helper()
	return newChecker(t, f, func(o *Options) {
		o.Alerts.WebhookURL = url
		o.Alerts.CheckInterval = config.Duration(time.Hour) // the test calls Check itself
		o.Backoff, o.MaxBackoff = time.Millisecond, 4*time.Millisecond
	})
}

// startRun runs c until the returned stop (also called at cleanup).
func startRun(t *testing.T, c *Checker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestWebhookRetriesUntilAccepted(t *testing.T) {
	t.Parallel()
	h := newHook(t, false)
	h.failing.Store(2)
	f := newFakes()
	c := webhookChecker(t, f, h.srv.URL)
	ctx := context.Background()
	c.Check(ctx)
	stop := startRun(t, c)

	f.set(func(f *fakes) { f.queueN, f.oldest = 3, f.now.Add(-time.Hour) })
	c.Check(ctx)
	m := h.next(t, CheckOldestQueued, Critical, OK)
	if m["host"] != "relay1" || m["since"] != "2024-03-01T12:00:00Z" ||
		m["message"] != "oldest queued message is 1h old (threshold 30m); 3 queued" || len(m) != 6 {
		t.Fatalf("notice body %v", m)
	}

	// More checks in the same state send nothing; the recovery is the
	// next notice (a duplicate of the first would arrive before it).
	f.advance(time.Minute)
	c.Check(ctx)
	c.Check(ctx)
	f.set(func(f *fakes) { f.queueN, f.oldest = 0, time.Time{} })
	c.Check(ctx)
	h.next(t, CheckOldestQueued, OK, Critical)
	stop()
	if n := h.attempts.Load(); n != 4 {
		t.Fatalf("%d webhook requests, want 2 failures + 2 notices", n)
	}
}

func TestWebhookOneNoticePerChange(t *testing.T) {
	t.Parallel()
	h := newHook(t, false)
	f := newFakes()
	c := webhookChecker(t, f, h.srv.URL)
	ctx := context.Background()
	c.Check(ctx)
	startRun(t, c)

	state := OK
	for i := range 6 {
		held := 0
		if i%2 == 0 {
			held = 500
		}
		f.set(func(f *fakes) { f.held = held })
		c.Check(ctx)
		c.Check(ctx) // same state: no notice
		prev := state
		state = map[bool]State{true: Warning, false: OK}[held > 0]
		h.next(t, CheckHeldMessages, state, prev)
	}
	f.set(func(f *fakes) { f.reloadErr, f.reloadAt = "bad file", f.now })
	c.Check(ctx)
	h.next(t, CheckConfigReload, Warning, OK)
	if n := h.attempts.Load(); n != 7 {
		t.Fatalf("%d webhook requests for 7 changes", n)
	}
}

func TestWebhookCoalescesWhilePending(t *testing.T) {
	t.Parallel()
	h := newHook(t, true)
	f := newFakes()
	c := webhookChecker(t, f, h.srv.URL)
	ctx := context.Background()
	c.Check(ctx)
	startRun(t, c)

	f.set(func(f *fakes) { f.delivered, f.deferred = 10, 40 })
	c.Check(ctx) // deferral_ratio ok→warning: posted, held by the receiver
	select {
	case <-h.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first notice was not posted")
	}
	// While it is pending: deferral_ratio warning→ok→unknown coalesces
	// into one warning→unknown; held_messages ok→warning→ok cancels out.
	f.set(func(f *fakes) { f.delivered, f.deferred, f.held = 50, 0, 500 })
	c.Check(ctx)
	f.set(func(f *fakes) { f.outErr, f.held = errors.New("locked"), 0 })
	c.Check(ctx)
	h.open()

	h.next(t, CheckDeferralRatio, Warning, OK)
	h.next(t, CheckDeferralRatio, Unknown, Warning)
	f.set(func(f *fakes) { f.reloadErr, f.reloadAt = "bad file", f.now })
	c.Check(ctx)
	h.next(t, CheckConfigReload, Warning, OK)
}

func TestNotifierMergesChangesDuringRetries(t *testing.T) {
	t.Parallel()
	h := newHook(t, false)
	h.failAll.Store(true)
	n := newNotifier(h.srv.Client(), discardLogger(), time.Millisecond, 2*time.Millisecond)
	n.setTarget(h.srv.URL, 5*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	n.enqueue(Notice{Check: "a", State: Critical, Previous: OK})
	// Wait until a post was refused (not merely arrived: the refusal is
	// decided after the count of attempts).
	for i := 0; h.refused.Load() == 0; i++ {
		if i > 10000 {
			t.Fatal("the notice was never posted")
		}
		time.Sleep(time.Millisecond)
	}
	// a recovers before any post succeeded: the receiver never hears of it.
	n.enqueue(Notice{Check: "a", State: OK, Previous: Critical})
	n.enqueue(Notice{Check: "b", State: Warning, Previous: OK})
	// Once b has been tried, a's two changes have met and cancelled out
	// (b waits behind a); only then may posts succeed.
	for seenB := false; !seenB; {
		select {
		case c := <-h.refusedChecks:
			seenB = c == "b"
		case <-time.After(10 * time.Second):
			t.Fatal("b was never tried")
		}
	}
	h.failAll.Store(false)
	select {
	case m := <-h.got:
		if m["check"] != "b" {
			t.Fatalf("first accepted notice %v, want b", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notice accepted")
	}
}

func TestNotifierCoalescesWaitingNotices(t *testing.T) {
	t.Parallel()
	n := newNotifier(http.DefaultClient, discardLogger(), 0, 0)
	n.setTarget("http://127.0.0.1:1/", 0)
	n.enqueue(Notice{Check: "a", State: Critical, Previous: OK})
	n.enqueue(Notice{Check: "b", State: Warning, Previous: OK})
	n.enqueue(Notice{Check: "a", State: Warning, Previous: Critical, Message: "latest"})
	n.enqueue(Notice{Check: "b", State: OK, Previous: Warning})
	x, ok := n.pop()
	if !ok || x.Check != "a" || x.State != Warning || x.Previous != OK || x.Message != "latest" {
		t.Fatalf("pop %+v %v", x, ok)
	}
	if x, ok := n.pop(); ok {
		t.Fatalf("b flapped back and should be gone, got %+v", x)
	}
	n.setTarget("", 0)
	n.enqueue(Notice{Check: "c", State: Critical})
	if x, ok := n.pop(); ok {
		t.Fatalf("queued without a webhook: %+v", x)
	}
}
