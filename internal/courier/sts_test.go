package courier

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/mtasts"
	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/testutil"
)

// stsWorld is a set of fake MX hosts for example.com, a policy host
// https://mta-sts.example.com on 127.0.0.1 and the courier that delivers
// to them with an mtasts.Cache in between.
type stsWorld struct {
	roots *x509.CertPool // trusts every test certificate
	res   *fakeResolver
	dial  *mapDialer
	txt   *txtSource
	log   *syncBuffer
	cache *mtasts.Cache

	mu     sync.Mutex
	policy string // served at /.well-known/mta-sts.txt
}

func newSTSWorld(t *testing.T) *stsWorld {
	t.Helper()
	w := &stsWorld{
		roots: x509.NewCertPool(),
		res:   &fakeResolver{mx: map[string][]*net.MX{}, ips: map[string][]net.IPAddr{}},
		dial:  &mapDialer{m: map[string]string{}},
		txt:   &txtSource{recs: map[string][]string{}},
		log:   &syncBuffer{},
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		body := w.policy
		w.mu.Unlock()
		if r.Host != "mta-sts.example.com" || r.URL.Path != "/.well-known/mta-sts.txt" || body == "" {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(rw, body)
	}))
	srv.TLS = w.cert(t, "mta-sts.example.com")
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: w.roots},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != "mta-sts.example.com:443" {
				return nil, fmt.Errorf("no policy host %s", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	w.cache = mtasts.NewCache(mtasts.CacheOptions{Fetcher: &mtasts.Fetcher{
		LookupTXT: w.txt.lookup, Client: &http.Client{Transport: tr}, Timeout: 5 * time.Second,
	}})
	return w
}

// cert returns a server configuration with a certificate for names that
// w.roots trusts.
func (w *stsWorld) cert(t *testing.T, names ...string) *tls.Config {
	cfg, _ := testutil.SelfSignedTLS(t, names...)
	w.roots.AddCert(cfg.Certificates[0].Leaf)
	return cfg
}

// publish sets the TXT record and the policy file of example.com.
func (w *stsWorld) publish(id, policy string) {
	w.txt.set("_mta-sts.example.com", []string{"v=STSv1; id=" + id})
	w.mu.Lock()
	w.policy = policy
	w.mu.Unlock()
}

// mx adds an MX host of example.com served by u, at address ip.
func (w *stsWorld) mx(name string, pref uint16, ip string, u *testutil.Upstream) {
	w.res.mx["example.com"] = append(w.res.mx["example.com"], &net.MX{Host: name + ".", Pref: pref})
	w.res.ips[name] = ipAddr(ip)
	w.dial.m[net.JoinHostPort(ip, "2525")] = u.Addr()
}

func (w *stsWorld) courier(t *testing.T, opts Options) *Courier {
	opts.Resolver, opts.Dialer, opts.MXPort = w.res, w.dial, mxPort
	opts.RootCAs, opts.MTASTS = w.roots, w.cache
	opts.Logger = slog.New(slog.NewTextHandler(w.log, nil))
	return testCourier(t, opts)
}

func (w *stsWorld) logged(s string) bool {
	w.log.mu.Lock()
	defer w.log.mu.Unlock()
	return strings.Contains(w.log.b.String(), s)
}

// txtSource answers TXT lookups from a map.
type txtSource struct {
	mu    sync.Mutex
	recs  map[string][]string
	calls int
}

func (s *txtSource) set(name string, recs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[name] = recs
}

func (s *txtSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *txtSource) lookup(_ context.Context, name string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if r, ok := s.recs[name]; ok {
		return r, nil
	}
	return nil, notFound(name)
}

const stsEnforce = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmx: *.mx.example.com\nmax_age: 86400\n"

// TestSTSEnforceSkipsUnlistedMX: the preferred MX is not in the policy and
// is never contacted; the listed one gets the message over verified TLS.
func TestSTSEnforceSkipsUnlistedMX(t *testing.T) {
	t.Parallel()
	w := newSTSWorld(t)
	rogue := testutil.NewUpstream(t)
	good := testutil.NewUpstream(t, testutil.WithTLS(w.cert(t, "b.mx.example.com")))
	w.mx("rogue.example.net", 5, "127.0.0.2", rogue)
	w.mx("b.mx.example.com", 10, "127.0.0.3", good)
	w.publish("1", stsEnforce)
	c := w.courier(t, Options{DirectTLS: TLSOpportunistic})

	out := deliver(t, c, message("m", "a@example.com"))
	wantDelivered(t, out, "b.mx.example.com:2525")
	if out[0].MTASTS != "enforce" {
		t.Errorf("Result.MTASTS = %q, want enforce", out[0].MTASTS)
	}
	if got := good.Wait(t, 1, 5*time.Second); !got[0].TLS {
		t.Error("delivered without TLS under an enforce policy")
	}
	if rogue.Connections() != 0 {
		t.Errorf("the MX host outside the policy had %d connections", rogue.Connections())
	}
	if !w.logged("MTA-STS enforce: skipping MX host not in the policy") {
		t.Error("skipped MX host not logged")
	}
}

// TestSTSEnforceTLSFailuresDefer: a listed MX host without STARTTLS, or
// with a certificate for another name, gets nothing, not even in
// plaintext, and the recipient stays deferred.
func TestSTSEnforceTLSFailuresDefer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  func(w *stsWorld) []testutil.Option
	}{
		{"no STARTTLS", func(*stsWorld) []testutil.Option { return nil }},
		{"certificate for another name", func(w *stsWorld) []testutil.Option {
			return []testutil.Option{testutil.WithTLS(w.cert(t, "other.example.org"))}
		}},
		{"untrusted certificate", func(*stsWorld) []testutil.Option {
			cfg, _ := testutil.SelfSignedTLS(t, "mx.example.com")
			return []testutil.Option{testutil.WithTLS(cfg)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newSTSWorld(t)
			u := testutil.NewUpstream(t, tc.opt(w)...)
			w.mx("mx.example.com", 10, "127.0.0.2", u)
			w.publish("1", stsEnforce)
			c := w.courier(t, Options{DirectTLS: TLSOpportunistic})

			out := deliver(t, c, message("m", "a@example.com"))
			var te *TLSError
			if !errors.As(out[0].Err, &te) || !smtperr.Temporary(out[0].Err) {
				t.Errorf("err = %v, want a temporary *TLSError", out[0].Err)
			}
			if out[0].MTASTS != "enforce" {
				t.Errorf("Result.MTASTS = %q, want enforce", out[0].MTASTS)
			}
			if n := len(u.Messages()); n != 0 {
				t.Errorf("the MX host received %d messages", n)
			}
			if n := u.Connections(); n != 1 {
				t.Errorf("%d connections, want 1 (no plaintext retry)", n)
			}
		})
	}
}

func TestSTSEnforceNoMatchingMX(t *testing.T) {
	t.Parallel()
	w := newSTSWorld(t)
	u := testutil.NewUpstream(t)
	w.mx("mail.example.com", 10, "127.0.0.2", u)
	w.publish("1", stsEnforce)
	c := w.courier(t, Options{})

	out := deliver(t, c, message("m", "a@example.com"))
	var se *smtperr.Error
	if !errors.As(out[0].Err, &se) || se.Status() != "4.4.4" || !smtperr.Temporary(se) {
		t.Errorf("err = %v, want temporary 4.4.4", out[0].Err)
	}
	if u.Connections() != 0 {
		t.Errorf("%d connections to an MX host outside the policy", u.Connections())
	}
}

// TestSTSTestingReportsOnly: under a testing policy the same failures are
// logged and the message is delivered as without MTA-STS.
func TestSTSTestingReportsOnly(t *testing.T) {
	t.Parallel()
	w := newSTSWorld(t)
	plain := testutil.NewUpstream(t)
	wrongName := testutil.NewUpstream(t, testutil.WithTLS(w.cert(t, "other.example.org")))
	w.mx("mail.example.com", 10, "127.0.0.2", plain)
	w.publish("1", strings.Replace(stsEnforce, "enforce", "testing", 1))
	c := w.courier(t, Options{DirectTLS: TLSOpportunistic})

	out := deliver(t, c, message("m1", "a@example.com"))
	wantDelivered(t, out, "mail.example.com:2525")
	if out[0].MTASTS != "testing" {
		t.Errorf("Result.MTASTS = %q, want testing", out[0].MTASTS)
	}
	for _, s := range []string{"MTA-STS testing: MX host not in the policy", "STARTTLS not offered"} {
		if !w.logged(s) {
			t.Errorf("log lacks %q", s)
		}
	}

	// The listed host presents a certificate for another name: delivered
	// over TLS all the same, and reported.
	w.res.mx["example.com"] = nil
	w.mx("mx.example.com", 10, "127.0.0.3", wrongName)
	out = deliver(t, c, message("m2", "a@example.com"))
	wantDelivered(t, out, "mx.example.com:2525")
	if got := wrongName.Wait(t, 1, 5*time.Second); !got[0].TLS {
		t.Error("not delivered over TLS")
	}
	if !w.logged("MTA-STS testing: TLS requirement not met") || !w.logged("other.example.org") {
		t.Error("certificate name mismatch not reported")
	}
}

// TestSTSNoPolicy: without a policy, or with mode none, delivery is as
// before (plaintext fallback included).
func TestSTSNoPolicy(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"", "version: STSv1\nmode: none\nmax_age: 86400\n"} {
		w := newSTSWorld(t)
		u := testutil.NewUpstream(t)
		w.mx("mail.example.com", 10, "127.0.0.2", u)
		if policy != "" {
			w.publish("1", policy)
		}
		c := w.courier(t, Options{})
		out := deliver(t, c, message("m", "a@example.com"))
		wantDelivered(t, out, "mail.example.com:2525")
		if out[0].MTASTS != "" {
			t.Errorf("policy %q: Result.MTASTS = %q, want none", policy, out[0].MTASTS)
		}
		if w.txt.count() == 0 {
			t.Errorf("policy %q: no TXT lookup", policy)
		}
	}
}

// TestSTSUnavailablePolicy: a TXT record whose policy cannot be fetched is
// delivered as without MTA-STS (RFC 8461 section 5.1), and logged.
func TestSTSUnavailablePolicy(t *testing.T) {
	t.Parallel()
	w := newSTSWorld(t)
	u := testutil.NewUpstream(t)
	w.mx("mail.example.com", 10, "127.0.0.2", u)
	w.publish("1", "") // the policy host answers 404
	c := w.courier(t, Options{})
	out := deliver(t, c, message("m", "a@example.com"))
	wantDelivered(t, out, "mail.example.com:2525")
	if !w.logged("MTA-STS policy unavailable") {
		t.Error("unavailable policy not logged")
	}
}

// TestSTSRelaysUnaffected: with upstream relays, no policy is looked up.
func TestSTSRelaysUnaffected(t *testing.T) {
	t.Parallel()
	w := newSTSWorld(t)
	relay := testutil.NewUpstream(t)
	w.dial.m[relay.Addr()] = relay.Addr()
	w.publish("1", stsEnforce)
	c := w.courier(t, Options{Upstreams: relays(TLSNone, relay.Addr())})
	out := deliver(t, c, message("m", "a@example.com"))
	wantDelivered(t, out, relay.Addr())
	if w.txt.count() != 0 || out[0].MTASTS != "" {
		t.Errorf("relay delivery looked up MTA-STS (%d TXT lookups, MTASTS %q)", w.txt.count(), out[0].MTASTS)
	}
}
