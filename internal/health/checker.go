package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/spool"
)

// Activity is one service's sending over a past window.
type Activity struct {
	Service  string
	Messages int       // messages accepted from the service in the window
	Last     time.Time // the most recent one (may be before the window)
}

// Inputs are what the checks read. The daemon fills them in; a nil func
// leaves its checks out of the report, except Held: a nil Held reports OK
// "no lists". Funcs are called from the checker's goroutine, one check at a
// time, and must be safe to call concurrently with the mail path.
type Inputs struct {
	// Queue returns the number of queued messages and the arrival time of
	// the oldest (zero when the queue is empty).
	Queue func() (n int, oldest time.Time)
	// Upstreams returns the state of every configured relay; empty with
	// direct (MX) delivery.
	Upstreams func() []courier.UpstreamStatus
	// Outcomes counts delivery attempts that delivered and that deferred
	// since the given time.
	Outcomes func(ctx context.Context, since time.Time) (delivered, deferred int, err error)
	// ServiceActivity returns per-service message counts since the given
	// time.
	ServiceActivity func(ctx context.Context, since time.Time) ([]Activity, error)
	// Held returns the number of list posts held for moderation.
	Held func(ctx context.Context) (int, error)
	// Drift reports whether the file on disk differs from the running
	// configuration, and since when.
	Drift func() (differs bool, since time.Time)
	// ConfigReload returns the error of the last reload ("" when it
	// succeeded, or when there was none) and when it happened.
	ConfigReload func() (lastErr string, at time.Time)
	// SpoolWrite probes the spool and returns its write record.
	SpoolWrite func() spool.WriteHealth
}

// Options configure a Checker. Only Alerts and Inputs are required.
type Options struct {
	Alerts config.Alerts
	Inputs Inputs
	// Extra returns fields added to every Report (config fingerprint,
	// load time, …). Optional.
	Extra func() map[string]any
	// Host names this node in webhook notices; default os.Hostname().
	Host string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives state changes and webhook failures; default discards.
	Logger *slog.Logger
	// Client posts webhook notices; default a new http.Client. The
	// per-notice timeout is Alerts.WebhookTimeout.
	Client *http.Client
	// Backoff is the first delay before retrying a failed webhook; it
	// doubles up to MaxBackoff. Defaults 1s and 5m.
	Backoff, MaxBackoff time.Duration
}

// Checker evaluates the built-in checks, keeps the latest report and
// notifies the webhook of state changes. Its methods are safe for
// concurrent use.
type Checker struct {
	in     Inputs
	extra  func() map[string]any
	host   string
	now    func() time.Time
	log    *slog.Logger
	notify *notifier

	checkMu sync.Mutex // serialises Check

	mu       sync.Mutex
	alerts   config.Alerts
	reconfig chan struct{} // wakes Run when the interval changes
	states   map[string]tracked
	report   Report
	checked  bool
}

// tracked is a check's state across runs.
type tracked struct {
	state State
	since time.Time
}

// New returns a Checker. Nothing runs until Run or Check is called.
func New(o Options) *Checker {
	c := &Checker{
		in:       o.Inputs,
		extra:    o.Extra,
		host:     o.Host,
		now:      o.Now,
		log:      o.Logger,
		alerts:   o.Alerts,
		reconfig: make(chan struct{}, 1),
		states:   map[string]tracked{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.host == "" {
		c.host, _ = os.Hostname()
	}
	client := o.Client
	if client == nil {
		client = &http.Client{}
	}
	c.notify = newNotifier(client, c.log, o.Backoff, o.MaxBackoff)
	c.notify.setTarget(o.Alerts.WebhookURL, time.Duration(o.Alerts.WebhookTimeout))
	return c
}

// SetAlerts replaces the thresholds and webhook (after a reload). States
// of checks that stay enabled are kept.
func (c *Checker) SetAlerts(a config.Alerts) {
	c.mu.Lock()
	c.alerts = a
	c.mu.Unlock()
	c.notify.setTarget(a.WebhookURL, time.Duration(a.WebhookTimeout))
	select {
	case c.reconfig <- struct{}{}:
	default:
	}
}

// Run checks now and then every alerts.check_interval, and delivers
// webhook notices, until ctx is done. It returns ctx.Err() after its
// webhook goroutine has stopped.
func (c *Checker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { c.notify.run(ctx) })
	defer wg.Wait()
	c.Check(ctx)
	t := time.NewTicker(c.interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.reconfig:
			t.Reset(c.interval())
		case <-t.C:
			c.Check(ctx)
		}
	}
}

func (c *Checker) interval() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := time.Duration(c.alerts.CheckInterval); d > 0 {
		return d
	}
	return 30 * time.Second
}

// Check runs every enabled check once, now, records the results, queues
// webhook notices for the checks whose state changed, and returns the
// report.
func (c *Checker) Check(ctx context.Context) Report {
	c.checkMu.Lock()
	defer c.checkMu.Unlock()
	c.mu.Lock()
	a := c.alerts
	c.mu.Unlock()

	now := c.now()
	results := evaluate(ctx, a, c.in, now)

	c.mu.Lock()
	seen := make(map[string]bool, len(results))
	var changes []Notice
	for i := range results {
		r := &results[i]
		seen[r.Name] = true
		prev, ok := c.states[r.Name]
		if !ok {
			// A check starts out as OK: a problem present at start-up is
			// a change worth a notice.
			prev = tracked{state: OK, since: now}
		}
		if r.State != prev.state {
			changes = append(changes, Notice{Check: r.Name, State: r.State, Previous: prev.state,
				Message: r.Message, Since: now, Host: c.host})
			prev = tracked{state: r.State, since: now}
		}
		c.states[r.Name] = prev
		r.Since = prev.since
	}
	for name := range c.states {
		if !seen[name] {
			delete(c.states, name)
		}
	}
	c.report = Report{Status: Overall(results), Time: now, Checks: results}
	c.checked = true
	rep := c.report
	c.mu.Unlock()

	for _, n := range changes {
		c.log.LogAttrs(ctx, slog.LevelInfo, "health check changed",
			slog.String("check", n.Check), slog.String("state", n.State.String()),
			slog.String("previous", n.Previous.String()), slog.String("message", n.Message))
		c.notify.enqueue(n)
	}
	return c.withExtra(rep)
}

// Report returns the latest report with the Extra fields filled in.
// Before the first check it is UNKNOWN with no checks.
func (c *Checker) Report() Report {
	c.mu.Lock()
	rep := c.report
	if !c.checked {
		rep = Report{Status: Unknown, Time: c.now()}
	}
	rep.Checks = append([]Result(nil), rep.Checks...)
	c.mu.Unlock()
	return c.withExtra(rep)
}

func (c *Checker) withExtra(rep Report) Report {
	if c.extra != nil {
		rep.Extra = c.extra()
	}
	return rep
}

// ServeHTTP answers GET (and HEAD) /healthz with the latest Report as
// JSON: status 200 when the overall state is OK or WARNING, 503 when it is
// CRITICAL or UNKNOWN, so that a plain HTTP probe pages on the same
// conditions as the Nagios output.
func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rep := c.Report()
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	code := http.StatusOK
	if rep.Status == Critical || rep.Status == Unknown {
		code = http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	if r.Method == http.MethodGet {
		w.Write(append(b, '\n'))
	}
}
