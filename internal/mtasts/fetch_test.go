package mtasts

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFetch(t *testing.T) {
	t.Parallel()
	ps, client := newPolicyServer(t, "mta-sts.example.com")
	ps.set(http.StatusOK, "text/plain; charset=utf-8", enforcePolicy)
	f := &Fetcher{Client: client, Timeout: 5 * time.Second}
	p, err := f.Fetch(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if p.Domain != "example.com" || p.Mode != ModeEnforce || p.MaxAge != 24*time.Hour || len(p.MX) != 2 {
		t.Errorf("got %+v", p)
	}
	if got := ps.hosts[0]; got != "mta-sts.example.com/.well-known/mta-sts.txt" {
		t.Errorf("request for %q", got)
	}
}

func TestFetchFailures(t *testing.T) {
	t.Parallel()
	big := enforcePolicy + strings.Repeat("x-pad: "+strings.Repeat("a", 100)+"\n", MaxPolicySize/100)
	for _, tc := range []struct {
		name        string
		certFor     string
		status      int
		contentType string
		location    string
		body        string
		domain      string
		want        string
	}{
		{"certificate for another host", "mta-sts.example.org", 200, "text/plain", "", enforcePolicy, "example.com", "certificate"},
		{"404", "mta-sts.example.com", 404, "text/plain", "", "", "example.com", "HTTP status 404"},
		{"redirect not followed", "mta-sts.example.com", 302, "text/plain", "https://mta-sts.example.com/other", enforcePolicy, "example.com", "HTTP status 302"},
		{"html", "mta-sts.example.com", 200, "text/html", "", enforcePolicy, "example.com", `content type "text/html", want text/plain`},
		{"too big", "mta-sts.example.com", 200, "text/plain", "", big, "example.com", "policy larger than 65536 bytes"},
		{"invalid policy", "mta-sts.example.com", 200, "text/plain", "", "version: STSv1\n", "example.com", "mtasts: policy mode: missing"},
		{"bad domain", "mta-sts.example.com", 200, "text/plain", "", enforcePolicy, "exa/mple.com", "invalid domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps, client := newPolicyServer(t, tc.certFor)
			ps.set(tc.status, tc.contentType, tc.body)
			ps.location = tc.location
			f := &Fetcher{Client: client, Timeout: 5 * time.Second}
			_, err := f.Fetch(context.Background(), tc.domain)
			var fe *FetchError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want *FetchError containing %q", err, tc.want)
			}
			if tc.name == "invalid policy" {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Errorf("err = %v does not wrap a *ParseError", err)
				}
			}
			if tc.name == "redirect not followed" && ps.count() != 1 {
				t.Errorf("%d requests, want 1", ps.count())
			}
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	t.Parallel()
	// A policy host that never answers: the fetch gives up at its timeout.
	ps, client := newPolicyServer(t, "mta-sts.example.com")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	ps.hang = release
	f := &Fetcher{Client: client, Timeout: 100 * time.Millisecond}
	_, err := f.Fetch(context.Background(), "example.com")
	var fe *FetchError
	if !errors.As(err, &fe) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline exceeded *FetchError", err)
	}
}

func TestRecordID(t *testing.T) {
	t.Parallel()
	txt := &fakeTXT{}
	txt.set("_mta-sts.example.com", []string{"v=STSv1; id=abc"}, nil)
	txt.set("_mta-sts.servfail.test", nil, &net.DNSError{Err: "server misbehaving", Name: "_mta-sts.servfail.test", IsTemporary: true})
	f := &Fetcher{LookupTXT: txt.lookup}
	ctx := context.Background()
	if id, err := f.RecordID(ctx, "example.com"); err != nil || id != "abc" {
		t.Errorf("example.com: %q, %v", id, err)
	}
	if _, err := f.RecordID(ctx, "nxdomain.test"); !errors.Is(err, ErrNoRecord) {
		t.Errorf("nxdomain.test: %v, want ErrNoRecord", err)
	}
	var le *LookupError
	if _, err := f.RecordID(ctx, "servfail.test"); !errors.As(err, &le) || errors.Is(err, ErrNoRecord) {
		t.Errorf("servfail.test: %v, want *LookupError", err)
	}
}
