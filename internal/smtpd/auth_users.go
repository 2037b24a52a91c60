package smtpd

import (
	"crypto/sha256"
	"sync"
	"time"
)

// loginFailures remembers the recent failed logins of each login name,
// whatever the client address: a guess spread over many addresses against
// one service's login still meets a limit. Unknown names are tracked like
// existing ones, so that whether a name gets locked says nothing about
// whether it exists.
//
// Memory is bounded: names are kept as SHA-256 digests (a fixed size
// whatever the client sent), each with at most limit times, and at most
// max names. When a new name finds the table full, names whose failures
// all left the window are forgotten first; if none did, the name with the
// fewest recent failures (the oldest among equals) makes room. A flood of
// random names therefore evicts other one-off names long before a name
// that is locked or close to it: evicting a name with n failures costs the
// flood n failures for every name the table holds.
type loginFailures struct {
	mu  sync.Mutex
	max int                               // 0 = maxTrackedLogins
	m   map[[sha256.Size]byte][]time.Time // oldest first, at most limit entries
}

// maxTrackedLogins bounds loginFailures (a few hundred bytes per name).
const maxTrackedLogins = 4096

func loginKey(user string) [sha256.Size]byte { return sha256.Sum256([]byte(user)) }

// locked reports whether user failed limit times within window before
// now; limit <= 0 means no per-name limit.
func (f *loginFailures) locked(user string, limit int, window time.Duration, now time.Time) bool {
	if limit <= 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(recent(f.m[loginKey(user)], window, now)) >= limit
}

// fail records a failed login of user. When this failure locks the name
// it returns when the lock ends (the oldest counted failure leaves the
// window); otherwise the zero time.
func (f *loginFailures) fail(user string, limit int, window time.Duration, now time.Time) (lockedUntil time.Time) {
	if limit <= 0 {
		return time.Time{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[[sha256.Size]byte][]time.Time)
	}
	k := loginKey(user)
	old, known := f.m[k]
	before := recent(old, window, now)
	if !known {
		f.makeRoom(limit, window, now)
	}
	ts := append(before, now)
	if len(ts) > limit {
		ts = ts[len(ts)-limit:]
	}
	f.m[k] = ts
	if len(before) < limit && len(ts) >= limit {
		return ts[0].Add(window)
	}
	return time.Time{}
}

// makeRoom removes names until one more fits.
func (f *loginFailures) makeRoom(limit int, window time.Duration, now time.Time) {
	max := f.max
	if max <= 0 {
		max = maxTrackedLogins
	}
	if len(f.m) < max {
		return
	}
	for k, ts := range f.m {
		if len(recent(ts, window, now)) == 0 {
			delete(f.m, k)
		}
	}
	for len(f.m) >= max {
		var victim [sha256.Size]byte
		best := -1
		var bestLast time.Time
		for k, ts := range f.m {
			n := min(len(recent(ts, window, now)), limit)
			last := ts[len(ts)-1]
			if best < 0 || n < best || (n == best && last.Before(bestLast)) {
				victim, best, bestLast = k, n, last
			}
		}
		delete(f.m, victim)
	}
}

// names returns how many names are remembered.
func (f *loginFailures) names() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m)
}
