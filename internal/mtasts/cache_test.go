package mtasts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
)

// testCache returns a Cache for example.com whose TXT answers and policy
// host the test controls, on a settable clock.
func testCache(t *testing.T, opts CacheOptions) (*Cache, *fakeTXT, *policyServer, *testutil.Clock) {
	t.Helper()
	ps, client := newPolicyServer(t, "mta-sts.example.com", "mta-sts.a.test", "mta-sts.b.test", "mta-sts.c.test")
	ps.set(http.StatusOK, "text/plain", enforcePolicy)
	txt := &fakeTXT{}
	clock := testutil.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	opts.Fetcher = &Fetcher{LookupTXT: txt.lookup, Client: client, Timeout: 5 * time.Second}
	opts.Now = clock.Now
	return NewCache(opts), txt, ps, clock
}

func lookup(t *testing.T, c *Cache, domain string) (Policy, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Lookup(ctx, domain)
}

func wantMode(t *testing.T, step string, p Policy, err error, mode Mode, id string) {
	t.Helper()
	if err != nil || p.Mode != mode || p.ID != id {
		t.Fatalf("%s: got mode %q id %q err %v, want mode %q id %q", step, p.Mode, p.ID, err, mode, id)
	}
}

func TestCacheNoRecord(t *testing.T) {
	t.Parallel()
	c, txt, ps, _ := testCache(t, CacheOptions{})
	txt.set("_mta-sts.example.com", []string{"v=spf1 -all"}, nil)
	p, err := lookup(t, c, "example.com")
	wantMode(t, "no record", p, err, "", "")
	txt.set("_mta-sts.example.com", []string{"v=STSv1; id=a", "v=STSv1; id=b"}, nil)
	p, err = lookup(t, c, "example.com")
	wantMode(t, "two records", p, err, "", "")
	if ps.count() != 0 {
		t.Errorf("%d policy fetches without a record", ps.count())
	}
}

func TestCacheRefresh(t *testing.T) {
	t.Parallel()
	c, txt, ps, clock := testCache(t, CacheOptions{})
	txt.set("_mta-sts.example.com", []string{"v=STSv1; id=one"}, nil)

	p, err := lookup(t, c, "Example.COM.")
	wantMode(t, "first", p, err, ModeEnforce, "one")
	if !p.Match("mx.example.com") || p.Domain != "example.com" || !p.Expires.Equal(clock.Now().Add(24*time.Hour)) {
		t.Errorf("policy %+v", p)
	}

	clock.Advance(time.Hour)
	p, err = lookup(t, c, "example.com")
	wantMode(t, "same id", p, err, ModeEnforce, "one")
	if ps.count() != 1 {
		t.Fatalf("%d fetches, want 1: an unchanged id must use the cache", ps.count())
	}

	ps.set(http.StatusOK, "text/plain", "version: STSv1\nmode: testing\nmx: other.example.com\nmax_age: 86400\n")
	txt.set("_mta-sts.example.com", []string{"v=STSv1; id=two"}, nil)
	p, err = lookup(t, c, "example.com")
	wantMode(t, "new id", p, err, ModeTesting, "two")
	if ps.count() != 2 {
		t.Fatalf("%d fetches, want 2", ps.count())
	}

	// Past half of max_age the policy is fetched again, same id or not.
	ps.set(http.StatusOK, "text/plain", enforcePolicy)
	clock.Advance(13 * time.Hour)
	p, err = lookup(t, c, "example.com")
	wantMode(t, "half max_age", p, err, ModeEnforce, "two")
	if ps.count() != 3 {
		t.Fatalf("%d fetches, want 3", ps.count())
	}
}

// TestCacheKeepsPolicyOnFailure: a cached unexpired policy is used when the
// TXT lookup or the fetch fails (RFC 8461 section 5.1), until it expires.
func TestCacheKeepsPolicyOnFailure(t *testing.T) {
	t.Parallel()
	c, txt, ps, clock := testCache(t, CacheOptions{RetryAfter: time.Minute})
	txt.set("_mta-sts.example.com", []string{"v=STSv1; id=one"}, nil)
	p, err := lookup(t, c, "example.com")
	wantMode(t, "first", p, err, ModeEnforce, "one")

	// New id, but the policy host serves garbage: keep the old policy and
	// do not refetch for RetryAfter.
	txt.set("_mta-sts.example.com", []string{"v=STSv1; id=two"}, nil)
	ps.set(http.StatusOK, "text/html", "<html>")
	for i := range 3 {
		p, err = lookup(t, c, "example.com")
		wantMode(t, fmt.Sprintf("failed fetch %d", i), p, err, ModeEnforce, "one")
	}
	if ps.count() != 2 {
		t.Errorf("%d fetches, want 2: a failed fetch is not repeated before RetryAfter", ps.count())
	}
	clock.Advance(2 * time.Minute)
	p, err = lookup(t, c, "example.com")
	wantMode(t, "after RetryAfter", p, err, ModeEnforce, "one")
	if ps.count() != 3 {
		t.Errorf("%d fetches, want 3 after RetryAfter", ps.count())
	}

	// DNS failure, then the record withdrawn: still the cached policy.
	txt.set("_mta-sts.example.com", nil, &net.DNSError{Err: "timeout", IsTimeout: true})
	p, err = lookup(t, c, "example.com")
	wantMode(t, "TXT lookup fails", p, err, ModeEnforce, "one")
	txt.set("_mta-sts.example.com", nil, nil)
	p, err = lookup(t, c, "example.com")
	wantMode(t, "TXT withdrawn", p, err, ModeEnforce, "one")

	clock.Advance(24 * time.Hour)
	p, err = lookup(t, c, "example.com")
	wantMode(t, "expired", p, err, "", "")
}

func TestCacheFailureWithoutPolicy(t *testing.T) {
	t.Parallel()
	c, txt, ps, clock := testCache(t, CacheOptions{RetryAfter: time.Minute})
	txt.set("_mta-sts.example.com", []string{"v=STSv1; id=one"}, nil)
	ps.set(http.StatusNotFound, "text/plain", "")
	var fe *FetchError
	for range 2 {
		p, err := lookup(t, c, "example.com")
		if p.Mode != "" || !errors.As(err, &fe) {
			t.Fatalf("got %+v, %v; want no policy and a *FetchError", p, err)
		}
	}
	if ps.count() != 1 {
		t.Errorf("%d fetches, want 1", ps.count())
	}
	ps.set(http.StatusOK, "text/plain", enforcePolicy)
	clock.Advance(2 * time.Minute)
	p, err := lookup(t, c, "example.com")
	wantMode(t, "after RetryAfter", p, err, ModeEnforce, "one")

	var le *LookupError
	txt.set("_mta-sts.servfail.test", nil, &net.DNSError{Err: "server misbehaving", IsTemporary: true})
	if p, err := lookup(t, c, "servfail.test"); p.Mode != "" || !errors.As(err, &le) {
		t.Errorf("servfail.test: %+v, %v; want no policy and a *LookupError", p, err)
	}
}

func TestCacheCancelledFetchNotRemembered(t *testing.T) {
	t.Parallel()
	c, txt, ps, _ := testCache(t, CacheOptions{})
	txt.set("_mta-sts.example.com", []string{"v=STSv1; id=one"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Lookup(ctx, "example.com"); err == nil {
		t.Fatal("Lookup with a cancelled context succeeded")
	}
	p, err := lookup(t, c, "example.com")
	wantMode(t, "after cancel", p, err, ModeEnforce, "one")
	if ps.count() < 1 {
		t.Errorf("no fetch after the cancelled one")
	}
}

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	c, txt, _, clock := testCache(t, CacheOptions{MaxEntries: 2})
	for _, d := range []string{"a.test", "b.test", "c.test"} {
		txt.set("_mta-sts."+d, []string{"v=STSv1; id=1"}, nil)
	}
	for _, d := range []string{"a.test", "b.test", "a.test", "c.test"} {
		p, err := lookup(t, c, d)
		wantMode(t, d, p, err, ModeEnforce, "1")
		clock.Advance(time.Second)
	}
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	c.mu.Lock()
	_, hasA := c.entries["a.test"]
	_, hasB := c.entries["b.test"]
	c.mu.Unlock()
	if !hasA || hasB {
		t.Errorf("a.test kept %v, b.test kept %v; want the least recently used (b.test) evicted", hasA, hasB)
	}
}

func TestCacheConcurrent(t *testing.T) {
	t.Parallel()
	c, txt, ps, _ := testCache(t, CacheOptions{})
	txt.set("_mta-sts.example.com", []string{"v=STSv1; id=one"}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			p, err := lookup(t, c, "example.com")
			if err == nil && p.Mode != ModeEnforce {
				err = fmt.Errorf("mode %q", p.Mode)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := ps.count(); n < 1 || n > 8 {
		t.Errorf("%d fetches for 8 lookups", n)
	}
}
