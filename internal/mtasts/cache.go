package mtasts

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// CacheOptions configures a Cache. Zero values take the defaults.
type CacheOptions struct {
	Fetcher    *Fetcher         // default &Fetcher{}
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger     // default discards
	MaxEntries int              // domains remembered; default 10000
	// RetryAfter is how long a failed fetch of one policy id is not
	// repeated, so that a broken policy host does not cost a timeout per
	// message; default 5m.
	RetryAfter time.Duration
}

// Cache looks up policies through a Fetcher and keeps them in memory until
// they expire. It is safe for concurrent use.
type Cache struct {
	opts CacheOptions

	mu       sync.Mutex
	entries  map[string]*entry
	inflight map[string]*call // domain -> fetch in progress
}

// entry is what is known about one domain.
type entry struct {
	policy   Policy    // last policy fetched; Mode "" when none
	failedID string    // id whose last fetch failed
	failErr  error     // that failure
	retryAt  time.Time // do not fetch failedID again before this
	used     time.Time // last Lookup, for eviction
}

// call is one fetch that concurrent lookups of the same domain share.
type call struct {
	done chan struct{}
	p    Policy
	err  error
}

// NewCache returns an empty Cache.
func NewCache(opts CacheOptions) *Cache {
	if opts.Fetcher == nil {
		opts.Fetcher = &Fetcher{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Minute
	}
	return &Cache{opts: opts, entries: make(map[string]*entry), inflight: make(map[string]*call)}
}

// Len returns the number of domains in the cache.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Lookup returns the policy that applies to mail for domain now.
//
// A zero Policy and a nil error mean the domain has no policy. A zero
// Policy and an error mean the domain's policy could not be discovered
// (DNS failure, or the TXT record exists but the file cannot be fetched or
// is invalid) and no unexpired policy is cached: RFC 8461 section 5.1 says
// to deliver as if there were no policy. A cached unexpired policy is
// returned, with a nil error, whenever discovery fails.
func (c *Cache) Lookup(ctx context.Context, domain string) (Policy, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	id, txtErr := c.opts.Fetcher.RecordID(ctx, domain)
	now := c.opts.Now()
	cached, hasCached, e := c.cached(domain, now)
	if txtErr != nil {
		if hasCached {
			if !errors.Is(txtErr, ErrNoRecord) {
				c.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "MTA-STS TXT lookup failed; using the cached policy",
					slog.String("domain", domain), slog.String("error", txtErr.Error()))
			}
			return cached, nil
		}
		if errors.Is(txtErr, ErrNoRecord) {
			var re *RecordError
			if errors.As(txtErr, &re) {
				c.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "invalid MTA-STS TXT record; treated as none",
					slog.String("domain", domain), slog.String("error", txtErr.Error()))
			}
			return Policy{}, nil
		}
		return Policy{}, txtErr
	}
	if hasCached && cached.ID == id && now.Before(cached.Fetched.Add(cached.MaxAge/2)) {
		return cached, nil
	}
	if e.failedID == id && now.Before(e.retryAt) {
		if hasCached {
			return cached, nil
		}
		return Policy{}, e.failErr
	}
	p, err := c.fetch(ctx, domain, id)
	if err != nil {
		if hasCached {
			c.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "MTA-STS policy fetch failed; using the cached policy",
				slog.String("domain", domain), slog.String("policy_id", cached.ID), slog.String("error", err.Error()))
			return cached, nil
		}
		c.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "MTA-STS policy fetch failed; delivering without policy",
			slog.String("domain", domain), slog.String("policy_id", id), slog.String("error", err.Error()))
		return Policy{}, err
	}
	return p, nil
}

// cached returns the domain's unexpired policy, if any, and a copy of its
// entry (zero when there is none).
func (c *Cache) cached(domain string, now time.Time) (Policy, bool, entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[domain]
	if !ok {
		return Policy{}, false, entry{}
	}
	e.used = now
	valid := e.policy.Mode != "" && now.Before(e.policy.Expires)
	return e.policy, valid, *e
}

// fetch fetches the policy once for all concurrent lookups of domain and
// records the outcome.
func (c *Cache) fetch(ctx context.Context, domain, id string) (Policy, error) {
	c.mu.Lock()
	if cl, ok := c.inflight[domain]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.p, cl.err
		case <-ctx.Done():
			return Policy{}, context.Cause(ctx)
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[domain] = cl
	c.mu.Unlock()

	p, err := c.opts.Fetcher.Fetch(ctx, domain)
	now := c.opts.Now()
	if err == nil {
		p.ID = id
		p.Fetched = now
		p.Expires = now.Add(p.MaxAge)
		c.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "MTA-STS policy fetched",
			slog.String("domain", domain), slog.String("policy_id", id), slog.String("mode", string(p.Mode)),
			slog.Int("mx_patterns", len(p.MX)), slog.Duration("max_age", p.MaxAge))
	}

	c.mu.Lock()
	e := c.entries[domain]
	if e == nil {
		c.evictLocked()
		e = &entry{}
		c.entries[domain] = e
	}
	e.used = now
	switch {
	case err == nil:
		e.policy, e.failedID, e.failErr, e.retryAt = p, "", nil, time.Time{}
	case ctx.Err() != nil:
		// The caller gave up (shutdown, deadline): not the policy host's
		// fault, so the next lookup tries again.
	default:
		e.failedID, e.failErr, e.retryAt = id, err, now.Add(c.opts.RetryAfter)
	}
	delete(c.inflight, domain)
	c.mu.Unlock()

	cl.p, cl.err = p, err
	close(cl.done)
	return p, err
}

// evictLocked makes room for one more entry: expired policies go first,
// then the least recently used domain.
func (c *Cache) evictLocked() {
	if len(c.entries) < c.opts.MaxEntries {
		return
	}
	now := c.opts.Now()
	var oldest string
	var oldestUsed time.Time
	for d, e := range c.entries {
		if !now.Before(e.policy.Expires) && !now.Before(e.retryAt) {
			delete(c.entries, d)
			continue
		}
		if oldest == "" || e.used.Before(oldestUsed) {
			oldest, oldestUsed = d, e.used
		}
	}
	if len(c.entries) >= c.opts.MaxEntries {
		delete(c.entries, oldest)
	}
}
