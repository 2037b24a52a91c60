package webui

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// SubscribeLimits bound how often the public subscribe form may be used,
// so that it cannot be turned into a way to flood somebody's mailbox with
// confirmation requests. A zero count or window takes the default; a
// negative count turns that limit off.
type SubscribeLimits struct {
	// PerIP requests per IPWindow from one client (an IPv6 client counts
	// by its /64). Default 5 per hour.
	PerIP    int
	IPWindow time.Duration
	// PerAddress requests per AddressWindow for one email address, on all
	// lists together. Default 3 per day.
	PerAddress    int
	AddressWindow time.Duration
}

func (l SubscribeLimits) withDefaults() SubscribeLimits {
	if l.PerIP == 0 {
		l.PerIP = 5
	}
	if l.IPWindow <= 0 {
		l.IPWindow = time.Hour
	}
	if l.PerAddress == 0 {
		l.PerAddress = 3
	}
	if l.AddressWindow <= 0 {
		l.AddressWindow = 24 * time.Hour
	}
	return l
}

// limiterMaxKeys bounds the memory of one limiter. When that many keys are
// counted, keys with no use inside the window are dropped; if none can be
// dropped, new keys are refused until some can.
const limiterMaxKeys = 50000

// limiter counts uses per key in a sliding window, in memory. It keeps at
// most max times per key, so its memory is bounded by limiterMaxKeys*max.
type limiter struct {
	max int // <= 0: no limit
	per time.Duration

	mu   sync.Mutex
	seen map[string][]time.Time // oldest first
}

func newLimiter(max int, per time.Duration) *limiter {
	return &limiter{max: max, per: per, seen: make(map[string][]time.Time)}
}

// allow counts one use of key at now and reports whether it is within the
// limit; if not, nothing is counted and wait says when the next use will
// be allowed.
func (l *limiter) allow(key string, now time.Time) (ok bool, wait time.Duration) {
	if l.max <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	times := recent(l.seen[key], now.Add(-l.per))
	if len(times) >= l.max {
		l.seen[key] = times
		return false, times[0].Add(l.per).Sub(now)
	}
	if len(times) == 0 {
		delete(l.seen, key)
		if len(l.seen) >= limiterMaxKeys && !l.sweep(now) {
			return false, l.per
		}
	}
	l.seen[key] = append(times, now)
	return true, 0
}

// sweep drops the keys with no use inside the window and reports whether
// there is room for a new key.
func (l *limiter) sweep(now time.Time) bool {
	since := now.Add(-l.per)
	for k, times := range l.seen {
		if len(recent(times, since)) == 0 {
			delete(l.seen, k)
		}
	}
	return len(l.seen) < limiterMaxKeys
}

// recent returns the times after since (times is oldest first).
func recent(times []time.Time, since time.Time) []time.Time {
	i := 0
	for i < len(times) && !times[i].After(since) {
		i++
	}
	return times[i:]
}

// clientKey is the key a request's client is counted under: its address,
// or for IPv6 its /64, which one client usually holds whole.
func (u *UI) clientKey(r *http.Request) string {
	var host string
	if u.o.ClientIP != nil {
		host = u.o.ClientIP(r)
	} else if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	} else {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}
