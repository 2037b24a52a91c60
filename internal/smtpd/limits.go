package smtpd

import (
	"net/netip"
	"sync"
	"time"
)

// authFailures remembers the recent failed logins of each client address.
type authFailures struct {
	mu sync.Mutex
	m  map[netip.Addr][]time.Time // oldest first, at most limit entries
}

// maxTrackedClients bounds authFailures: beyond it, clients whose failures
// are all older than the window are forgotten.
const maxTrackedClients = 10000

// blocked reports whether ip failed limit times within window before now.
func (a *authFailures) blocked(ip netip.Addr, limit int, window time.Duration, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(recent(a.m[ip], window, now)) >= limit
}

// fail records a failed login of ip.
func (a *authFailures) fail(ip netip.Addr, limit int, window time.Duration, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ts := append(recent(a.m[ip], window, now), now)
	if len(ts) > limit {
		ts = ts[len(ts)-limit:]
	}
	a.m[ip] = ts
	if len(a.m) > maxTrackedClients {
		for k, v := range a.m {
			if len(recent(v, window, now)) == 0 {
				delete(a.m, k)
			}
		}
	}
}

func recent(ts []time.Time, window time.Duration, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= window {
		i++
	}
	return ts[i:]
}

// rates is a token bucket per service: perMinute tokens, refilled evenly
// over a minute.
type rates struct {
	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take takes one token of service's bucket and reports whether there was
// one. perMinute <= 0 means no bound.
func (r *rates) take(service string, perMinute int, now time.Time) bool {
	if perMinute <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.m[service]
	max := float64(perMinute)
	if b == nil {
		b = &bucket{tokens: max, last: now}
		r.m[service] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(max, b.tokens+el.Minutes()*max)
	}
	b.last = now
	if b.tokens > max {
		b.tokens = max // the bound was lowered by a reload
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
