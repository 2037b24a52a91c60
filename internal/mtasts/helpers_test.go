package mtasts

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/internal/testutil"
)

// policyServer is an HTTPS server on 127.0.0.1 standing in for
// mta-sts.<domain> of every domain; it answers what it is told to.
type policyServer struct {
	srv *httptest.Server

	mu          sync.Mutex
	body        string
	status      int
	contentType string
	location    string
	requests    int
	hosts       []string      // Host of each request
	hang        chan struct{} // when set, requests wait for it or for the client to give up
}

// newPolicyServer starts a policyServer whose certificate is valid for
// names, and returns it with a client that trusts that certificate and
// sends every "mta-sts.*:443" connection to it.
func newPolicyServer(t *testing.T, names ...string) (*policyServer, *http.Client) {
	t.Helper()
	ps := &policyServer{status: http.StatusOK, contentType: "text/plain; charset=utf-8"}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(ps.serve))
	cfg, roots := testutil.SelfSignedTLS(t, names...)
	srv.TLS = cfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ps.srv = srv
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return ps, &http.Client{Transport: tr}
}

func (ps *policyServer) set(status int, contentType, body string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.status, ps.contentType, ps.body = status, contentType, body
}

func (ps *policyServer) serve(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	ps.requests++
	ps.hosts = append(ps.hosts, r.Host+r.URL.Path)
	status, ct, body, loc, hang := ps.status, ps.contentType, ps.body, ps.location, ps.hang
	ps.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	if loc != "" {
		w.Header().Set("Location", loc)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (ps *policyServer) count() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.requests
}

// fakeTXT answers TXT lookups from a map it lets tests change.
type fakeTXT struct {
	mu      sync.Mutex
	records map[string][]string
	errs    map[string]error
	calls   int
}

func (f *fakeTXT) set(name string, recs []string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.records == nil {
		f.records, f.errs = make(map[string][]string), make(map[string]error)
	}
	f.records[name], f.errs[name] = recs, err
}

func (f *fakeTXT) lookup(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := f.errs[name]; err != nil {
		return nil, err
	}
	if recs, ok := f.records[name]; ok {
		return recs, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

const enforcePolicy = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmx: *.example.net\nmax_age: 86400\n"
