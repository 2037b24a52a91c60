package smtpd

import (
	"net/netip"
	"testing"
)

// TestPolicyLogin: what the configuration alone decides about a login,
// as configuration tests see it.
func TestPolicyLogin(t *testing.T) {
	t.Parallel()
	h := testHash(t)
	p := &Policy{Services: []Service{
		{Name: "local", Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{Name: "gerrit", Password: h},
		{Name: "sentry", Login: "sentry-prod", Password: h},
	}}
	loop, remote := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.7")
	for _, c := range []struct {
		ip       netip.Addr
		tls, lax bool
		user     string
		service  string
		code     int
	}{
		{loop, false, false, "gerrit", "gerrit", 0},
		{loop, false, false, "sentry-prod", "sentry", 0},
		{loop, false, false, "sentry", "", 535}, // the service name is not its login
		{loop, false, false, "local", "", 535},  // no password
		{remote, false, false, "gerrit", "", 538},
		{remote, true, false, "gerrit", "gerrit", 0},
		{remote, false, true, "gerrit", "gerrit", 0},
	} {
		svc, err := p.Login(c.ip, c.tls, c.lax, c.user)
		if svc != c.service || (err == nil) != (c.code == 0) || err != nil && err.Code != c.code {
			t.Errorf("Login(%s, tls %v, lax %v, %q) = %q, %v; want %q, %d", c.ip, c.tls, c.lax, c.user, svc, err, c.service, c.code)
		}
	}
	none := &Policy{Services: []Service{{Name: "local"}}}
	if _, err := none.Login(loop, true, false, "local"); err == nil || err.Code != 502 {
		t.Errorf("no service can log in: %v, want 502", err)
	}
}
