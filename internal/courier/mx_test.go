package courier

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/testutil"
)

const mxPort = 2525

func TestDirectMX(t *testing.T) {
	t.Parallel()
	mx1 := testutil.NewUpstream(t) // preferred, but in maintenance
	mx1.SetScript(testutil.Script{Greeting: smtperr.New(421, [3]int{4, 3, 2}, "maintenance")})
	mx2 := testutil.NewUpstream(t)
	bare := testutil.NewUpstream(t) // a domain with no MX, reached through its A record
	res := &fakeResolver{
		mx: map[string][]*net.MX{"example.org": {
			{Host: "mx2.example.org.", Pref: 20},
			{Host: "mx1.example.org.", Pref: 10},
		}},
		ips: map[string][]net.IPAddr{
			"mx1.example.org": ipAddr("127.0.0.2"),
			"mx2.example.org": ipAddr("127.0.0.3"),
			"bare.test":       ipAddr("127.0.0.4"),
		},
	}
	dialer := &mapDialer{m: map[string]string{
		"127.0.0.2:2525": mx1.Addr(),
		"127.0.0.3:2525": mx2.Addr(),
		"127.0.0.4:2525": bare.Addr(),
	}}
	c := testCourier(t, Options{Resolver: res, Dialer: dialer, MXPort: mxPort, DirectTLS: TLSOpportunistic})

	out := deliver(t, c, message("m", "a@example.org", "c@bare.test", "b@EXAMPLE.org"))
	wantDelivered(t, []Result{out[0], out[2]}, "mx2.example.org:2525")
	wantDelivered(t, out[1:2], "bare.test:2525")
	got := mx2.Wait(t, 1, 5*time.Second)
	if len(got) != 1 || strings.Join(got[0].Rcpts, ",") != "a@example.org,b@EXAMPLE.org" {
		t.Errorf("mx2 got %+v, want one transaction for both example.org recipients", got)
	}
	if got := bare.Wait(t, 1, 5*time.Second); strings.Join(got[0].Rcpts, ",") != "c@bare.test" {
		t.Errorf("bare.test got %v", got[0].Rcpts)
	}
	if mx1.Connections() != 1 {
		t.Errorf("mx1 had %d connections, want 1", mx1.Connections())
	}
	if len(c.Status()) != 0 {
		t.Errorf("Status lists %d relays in direct mode", len(c.Status()))
	}
}

func TestDirectMXFailures(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{
		mx: map[string][]*net.MX{
			"nullmx.test": {{Host: ".", Pref: 0}},
			"lame.test":   {{Host: "nowhere.lame.test", Pref: 10}},
		},
		mxErr: map[string]error{
			"servfail.test": &net.DNSError{Err: "server misbehaving", Name: "servfail.test", IsTemporary: true},
		},
	}
	c := testCourier(t, Options{Resolver: res, Dialer: &mapDialer{}, MXPort: mxPort})
	out := deliver(t, c, message("m", "a@nullmx.test", "b@nxdomain.test", "c@servfail.test", "d@lame.test", "nodomain"))

	for i, want := range []struct {
		status    string
		permanent bool
	}{{"5.1.10", true}, {"5.1.2", true}, {"4.4.3", false}, {"4.4.3", false}, {"5.1.3", true}} {
		var se *smtperr.Error
		if !errors.As(out[i].Err, &se) || se.Status() != want.status || smtperr.Permanent(se) != want.permanent {
			t.Errorf("%s: err = %v, want %s", out[i].Rcpt, out[i].Err, want.status)
		}
	}
}

func TestDirectMXRefusedIsTemporary(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{
		mx:  map[string][]*net.MX{"example.org": {{Host: "mx.example.org", Pref: 10}}},
		ips: map[string][]net.IPAddr{"mx.example.org": ipAddr("127.0.0.2")},
	}
	closed := testutil.ClosedAddr(t)
	c := testCourier(t, Options{Resolver: res, Dialer: &mapDialer{m: map[string]string{"127.0.0.2:2525": closed}}, MXPort: mxPort})
	out := deliver(t, c, message("m", "a@example.org"))
	var ce *ConnError
	if !errors.As(out[0].Err, &ce) || !smtperr.Temporary(out[0].Err) {
		t.Errorf("err = %v, want temporary connection error", out[0].Err)
	}
}
