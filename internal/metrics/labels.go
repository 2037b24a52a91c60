package metrics

import (
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
)

// labelSet passes label values through until it has seen limit distinct ones;
// later new values become "other", so that a bug or a hostile input can never
// create unbounded series.
type labelSet struct {
	limit int

	mu   sync.RWMutex
	seen map[string]struct{}
}

func newLabelSet(limit int) *labelSet {
	return &labelSet{limit: limit, seen: make(map[string]struct{})}
}

// value returns the label value for s; empty is used when s is "".
func (l *labelSet) value(s, empty string) string {
	if s == "" {
		return empty
	}
	l.mu.RLock()
	_, ok := l.seen[s]
	l.mu.RUnlock()
	if ok {
		return s
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[s]; ok {
		return s
	}
	if len(l.seen) >= l.limit {
		return labelOther
	}
	l.seen[s] = struct{}{}
	return s
}

// refreshEvery rate-limits re-reading the configured relays when an event
// names an upstream that is not one of them.
const refreshEvery = time.Second

// upstreamLabels maps the upstream of an event to its label value: the
// configured relay's address, "none" when no upstream answered, and "direct"
// for anything else (an MX host, under direct delivery). Without an
// Upstreams source the relays are unknown and values pass through a labelSet.
type upstreamLabels struct {
	src      func() []courier.UpstreamStatus
	now      func() time.Time
	fallback *labelSet

	mu        sync.RWMutex
	relays    map[string]struct{}
	refreshed time.Time
}

func newUpstreamLabels(src func() []courier.UpstreamStatus, now func() time.Time, limit int) *upstreamLabels {
	u := &upstreamLabels{src: src, now: now, fallback: newLabelSet(limit)}
	if src != nil {
		u.set(src())
	}
	return u
}

// set records the configured relays (called at every scrape too).
func (u *upstreamLabels) set(st []courier.UpstreamStatus) {
	relays := make(map[string]struct{}, len(st))
	for _, s := range st {
		relays[s.Addr] = struct{}{}
	}
	u.mu.Lock()
	u.relays = relays
	u.refreshed = u.now()
	u.mu.Unlock()
}

func (u *upstreamLabels) value(addr string) string {
	if addr == "" {
		return labelNone
	}
	if u.src == nil {
		return u.fallback.value(addr, labelNone)
	}
	u.mu.RLock()
	_, ok := u.relays[addr]
	stale := u.now().Sub(u.refreshed) >= refreshEvery
	u.mu.RUnlock()
	if ok {
		return addr
	}
	if stale {
		// The relays may have changed with a reload since the last scrape.
		// Status only takes each relay's short-held lock: no I/O.
		u.set(u.src())
		u.mu.RLock()
		_, ok = u.relays[addr]
		u.mu.RUnlock()
		if ok {
			return addr
		}
	}
	return labelDirect
}
