package health

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Notice is the JSON body POSTed to alerts.webhook_url when a check
// changes state.
type Notice struct {
	Check    string    `json:"check"`
	State    State     `json:"state"`
	Previous State     `json:"previous"`
	Message  string    `json:"message"`
	Since    time.Time `json:"since"`
	Host     string    `json:"host"`
}

// WebhookError is a webhook answer outside 2xx.
type WebhookError struct {
	Status int
}

func (e *WebhookError) Error() string {
	return fmt.Sprintf("webhook answered HTTP %d", e.Status)
}

// maxPending bounds the notices waiting for delivery. There is at most one
// per check, so it is only reached with a runaway number of check names.
const maxPending = 256

// notifier delivers notices in the background, one at a time, oldest
// check first. Waiting notices are coalesced per check: a newer change of
// the same check replaces the waiting one but keeps its Previous state,
// and is dropped when it returns to that state (the receiver already knows
// it). A failed delivery is retried with exponential backoff, merged with
// any change of its check that arrived meanwhile.
type notifier struct {
	client     *http.Client
	log        *slog.Logger
	backoff    time.Duration
	maxBackoff time.Duration
	wake       chan struct{}

	mu      sync.Mutex
	url     string
	timeout time.Duration
	pending map[string]Notice
	order   []string // check names in pending, oldest first
}

func newNotifier(client *http.Client, log *slog.Logger, backoff, maxBackoff time.Duration) *notifier {
	if backoff <= 0 {
		backoff = time.Second
	}
	if maxBackoff < backoff {
		maxBackoff = max(5*time.Minute, backoff)
	}
	return &notifier{client: client, log: log, backoff: backoff, maxBackoff: maxBackoff,
		wake: make(chan struct{}, 1), pending: map[string]Notice{}}
}

func (n *notifier) setTarget(url string, timeout time.Duration) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.url, n.timeout = url, timeout
	if url == "" {
		clear(n.pending)
		n.order = nil
	}
}

// enqueue queues a notice without blocking.
func (n *notifier) enqueue(x Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.url == "" {
		return
	}
	n.putLocked(x)
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) putLocked(x Notice) {
	if old, ok := n.pending[x.Check]; ok {
		x.Previous = old.Previous
		if x.State == x.Previous {
			n.removeLocked(x.Check)
			return
		}
		n.pending[x.Check] = x
		return
	}
	if len(n.pending) >= maxPending {
		n.log.Warn("health webhook queue full, notice dropped", slog.String("check", x.Check))
		return
	}
	n.pending[x.Check] = x
	n.order = append(n.order, x.Check)
}

func (n *notifier) removeLocked(check string) {
	delete(n.pending, check)
	if i := slices.Index(n.order, check); i >= 0 {
		n.order = slices.Delete(n.order, i, i+1)
	}
}

// pop takes the oldest waiting notice.
func (n *notifier) pop() (Notice, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.order) == 0 {
		return Notice{}, false
	}
	x := n.pending[n.order[0]]
	n.removeLocked(n.order[0])
	return x, true
}

// run delivers notices until ctx is done.
func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
		for {
			x, ok := n.pop()
			if !ok {
				break
			}
			n.deliver(ctx, x)
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// deliver posts x until it is accepted, superseded or ctx is done.
func (n *notifier) deliver(ctx context.Context, x Notice) {
	delay := n.backoff
	for attempt := 1; ; attempt++ {
		n.mu.Lock()
		url, timeout := n.url, n.timeout
		n.mu.Unlock()
		if url == "" {
			return
		}
		err := n.post(ctx, url, timeout, x)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("health webhook failed", slog.String("check", x.Check),
			slog.Int("attempt", attempt), slog.Duration("retry_in", delay), slog.String("error", err.Error()))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, n.maxBackoff)
		// A change of the same check that arrived meanwhile replaces x.
		n.mu.Lock()
		if newer, ok := n.pending[x.Check]; ok {
			n.removeLocked(x.Check)
			newer.Previous = x.Previous
			x = newer
		}
		n.mu.Unlock()
		if x.State == x.Previous {
			return
		}
	}
}

func (n *notifier) post(ctx context.Context, url string, timeout time.Duration, x Notice) error {
	body, err := json.Marshal(x)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "posthorn-health")
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &WebhookError{Status: resp.StatusCode}
	}
	return nil
}
