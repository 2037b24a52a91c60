package courier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
)

func newClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
}

// testCourier builds a Courier with test-sized timeouts and closes it at
// the end of the test.
func testCourier(t *testing.T, opts Options) *Courier {
	t.Helper()
	if opts.Hostname == "" {
		opts.Hostname = "client.test"
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 2 * time.Second
	}
	if opts.CommandTimeout == 0 {
		opts.CommandTimeout = 2 * time.Second
	}
	if opts.DataTimeout == 0 {
		opts.DataTimeout = 2 * time.Second
	}
	c := New(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func relays(tlsMode string, addrs ...string) []Upstream {
	var us []Upstream
	for _, a := range addrs {
		us = append(us, Upstream{Addr: a, TLS: tlsMode})
	}
	return us
}

func message(id string, rcpts ...string) *Message {
	body := fmt.Sprintf("From: a@example.org\r\nSubject: %s\r\n\r\nhello %s\r\n.leading dot\r\n", id, id)
	return &Message{ID: id, From: "a@example.org", Rcpts: rcpts, Size: int64(len(body)), Body: strings.NewReader(body)}
}

func deliver(t *testing.T, c *Courier, m *Message) []Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := c.Deliver(ctx, m)
	if len(res) != len(m.Rcpts) {
		t.Fatalf("Deliver returned %d results for %d recipients", len(res), len(m.Rcpts))
	}
	for i, r := range res {
		if r.Rcpt != m.Rcpts[i] {
			t.Fatalf("result %d is for %q, want %q", i, r.Rcpt, m.Rcpts[i])
		}
	}
	return res
}

func wantDelivered(t *testing.T, res []Result, upstream string) {
	t.Helper()
	for _, r := range res {
		if r.Err != nil || r.Upstream != upstream {
			t.Errorf("%s: err=%v upstream=%q, want delivered by %q", r.Rcpt, r.Err, r.Upstream, upstream)
		}
	}
}

// fakeResolver answers from maps; names it does not know are not found.
type fakeResolver struct {
	mx    map[string][]*net.MX
	mxErr map[string]error
	ips   map[string][]net.IPAddr
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *fakeResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if err, ok := r.mxErr[name]; ok {
		return nil, err
	}
	if mx, ok := r.mx[name]; ok {
		return mx, nil
	}
	return nil, notFound(name)
}

func (r *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	if ips, ok := r.ips[host]; ok {
		return ips, nil
	}
	return nil, notFound(host)
}

func ipAddr(s string) []net.IPAddr { return []net.IPAddr{{IP: net.ParseIP(s)}} }

// mapDialer dials the loopback listener mapped to each address, so that
// several fake MX hosts can share one MXPort. Unmapped addresses fail.
type mapDialer struct {
	m map[string]string
	d net.Dialer
}

func (d *mapDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	to, ok := d.m[addr]
	if !ok {
		return nil, errors.New("mapDialer: no mapping for " + addr)
	}
	return d.d.DialContext(ctx, network, to)
}
