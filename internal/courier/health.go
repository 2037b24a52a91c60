package courier

import (
	"sync"
	"time"
)

// UpstreamStatus is the health of one relay, as Status reports it.
type UpstreamStatus struct {
	Addr                string
	Up                  bool      // the last attempt succeeded (or there was none)
	ConsecutiveFailures int       // failures since the last success
	DownUntil           time.Time // skipped until then; zero when up
	DownSince           time.Time // the first of the current run of failures; zero when up
	LastError           string    // the most recent failure, kept after recovery
}

// health tracks one relay across Deliver calls.
type health struct {
	addr string

	mu        sync.Mutex
	failures  int
	downUntil time.Time
	downSince time.Time
	lastErr   string
	probing   bool // a Deliver has claimed the probe after the down period
}

type admission int

const (
	admitSkip  admission = iota // down: leave it out
	admitUp                     // up: use it
	admitProbe                  // down period over and this caller probes it
)

func (h *health) admit(now time.Time) admission {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.failures == 0:
		return admitUp
	case now.Before(h.downUntil) || h.probing:
		return admitSkip
	}
	h.probing = true
	return admitProbe
}

// failed marks the relay down for base doubled per consecutive failure,
// at most max.
func (h *health) failed(now time.Time, err error, base, maxDown time.Duration) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures++
	if h.failures == 1 {
		h.downSince = now
	}
	d := base
	for i := 1; i < h.failures && d < maxDown; i++ {
		d *= 2
	}
	d = min(d, maxDown)
	h.downUntil = now.Add(d)
	h.lastErr = err.Error()
	h.probing = false
	return h.downUntil
}

func (h *health) succeeded() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures = 0
	h.downUntil = time.Time{}
	h.downSince = time.Time{}
	h.probing = false
}

func (h *health) endProbe() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probing = false
}

func (h *health) status() UpstreamStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return UpstreamStatus{
		Addr:                h.addr,
		Up:                  h.failures == 0,
		ConsecutiveFailures: h.failures,
		DownUntil:           h.downUntil,
		DownSince:           h.downSince,
		LastError:           h.lastErr,
	}
}

// Status returns the health of every configured relay, in configured order.
func (c *Courier) Status() []UpstreamStatus {
	out := make([]UpstreamStatus, len(c.upstreams))
	for i, h := range c.upstreams {
		out[i] = h.status()
	}
	return out
}
