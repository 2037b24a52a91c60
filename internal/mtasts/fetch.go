package mtasts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// MaxPolicySize is the largest policy file accepted (RFC 8461 section 3.3
// suggests 64 KiB).
const MaxPolicySize = 64 << 10

// Fetcher discovers a domain's policy: the TXT record, then the policy
// file over HTTPS. Zero fields take the documented defaults; a Fetcher is
// safe for concurrent use once in use.
type Fetcher struct {
	// LookupTXT returns the TXT records of a name; default
	// (&net.Resolver{}).LookupTXT. A *net.DNSError with IsNotFound means
	// there is no record.
	LookupTXT func(ctx context.Context, name string) ([]string, error)
	// Client fetches the policy file. Its certificate checks must stay on
	// (the certificate has to be valid for mta-sts.<domain>). Redirects are
	// never followed, whatever its CheckRedirect says. Default: a client
	// with its own transport, system roots and no proxy.
	Client *http.Client
	// Timeout bounds one policy fetch (TXT lookup not included); default
	// 20s.
	Timeout time.Duration

	once sync.Once
	dflt *http.Client // used when Client is nil
}

// FetchError is a policy file that could not be fetched or parsed.
type FetchError struct {
	Domain string
	URL    string
	Err    error // a *ParseError when the file was fetched but is invalid
}

func (e *FetchError) Error() string {
	return fmt.Sprintf("mtasts: fetching policy of %s from %s: %v", e.Domain, e.URL, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// LookupError is a DNS failure while looking up the TXT record (other than
// "not found", which is ErrNoRecord).
type LookupError struct {
	Domain string
	Err    error
}

func (e *LookupError) Error() string {
	return fmt.Sprintf("mtasts: looking up _mta-sts.%s: %v", e.Domain, e.Err)
}

func (e *LookupError) Unwrap() error { return e.Err }

// RecordID returns the id of the domain's _mta-sts TXT record, or an error
// wrapping ErrNoRecord when there is no usable record, or a *LookupError.
func (f *Fetcher) RecordID(ctx context.Context, domain string) (string, error) {
	lookup := f.LookupTXT
	if lookup == nil {
		lookup = (&net.Resolver{}).LookupTXT
	}
	txts, err := lookup(ctx, "_mta-sts."+domain)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return "", ErrNoRecord
		}
		return "", &LookupError{Domain: domain, Err: err}
	}
	return SelectRecord(txts)
}

// Fetch gets and parses https://mta-sts.<domain>/.well-known/mta-sts.txt.
// The answer must be 200 with media type text/plain and at most
// MaxPolicySize bytes. The returned Policy has Domain set; ID, Fetched and
// Expires are left for the caller.
func (f *Fetcher) Fetch(ctx context.Context, domain string) (Policy, error) {
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	fail := func(err error) (Policy, error) {
		return Policy{}, &FetchError{Domain: domain, URL: url, Err: err}
	}
	if err := checkDomain(domain); err != nil {
		return fail(err)
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fail(err)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("HTTP status %s (redirects are not followed)", resp.Status))
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "text/plain" {
		return fail(fmt.Errorf("content type %q, want text/plain", resp.Header.Get("Content-Type")))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicySize+1))
	if err != nil {
		return fail(fmt.Errorf("reading body: %w", err))
	}
	if len(body) > MaxPolicySize {
		return fail(fmt.Errorf("policy larger than %d bytes", MaxPolicySize))
	}
	p, err := Parse(body)
	if err != nil {
		return fail(err)
	}
	p.Domain = domain
	return p, nil
}

// client returns a copy of the configured client that never follows
// redirects (RFC 8461 section 3.3).
func (f *Fetcher) client() *http.Client {
	base := f.Client
	if base == nil {
		f.once.Do(func() {
			// Policies are fetched rarely: no idle connections are kept.
			f.dflt = &http.Client{Transport: &http.Transport{
				TLSHandshakeTimeout: 10 * time.Second,
				DisableKeepAlives:   true,
			}}
		})
		base = f.dflt
	}
	c := *base
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// checkDomain refuses names that would not make a plain https URL.
func checkDomain(d string) error {
	if d == "" || strings.HasPrefix(d, ".") {
		return fmt.Errorf("invalid domain %q", d)
	}
	for _, l := range strings.Split(d, ".") {
		if err := checkLabel(l); err != nil {
			return fmt.Errorf("invalid domain %q: %w", clip(d), err)
		}
	}
	return nil
}
