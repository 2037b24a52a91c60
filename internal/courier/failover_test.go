package courier

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/testutil"
)

func TestPrimaryRefusedSecondaryDelivers(t *testing.T) {
	t.Parallel()
	primary := testutil.ClosedAddr(t)
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, primary, second.Addr())})

	res := deliver(t, c, message("m1", "x@example.net", "y@example.net"))
	wantDelivered(t, res, second.Addr())
	got := second.Wait(t, 1, 5*time.Second)
	if len(got) != 1 || len(got[0].Rcpts) != 2 {
		t.Fatalf("secondary got %+v, want one transaction with 2 recipients", got)
	}
	if !strings.Contains(string(got[0].Data), "\r\n.leading dot\r\n") || got[0].Helo != "client.test" {
		t.Errorf("message or EHLO name mangled: helo=%q data=%q", got[0].Helo, got[0].Data)
	}
	st := c.Status()
	if st[0].Up || st[0].ConsecutiveFailures != 1 || st[0].LastError == "" || !st[1].Up {
		t.Errorf("Status = %+v", st)
	}
}

func TestHangingPrimaryCostsOneTimeout(t *testing.T) {
	t.Parallel()
	hang := testutil.NewHangListener(t)
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{
		Upstreams:      relays(TLSNone, hang.Addr(), second.Addr()),
		ConnectTimeout: 200 * time.Millisecond,
		Now:            newClock().Now,
	})

	wantDelivered(t, deliver(t, c, message("m1", "x@example.net")), second.Addr())
	if n := hang.Accepts(); n != 1 {
		t.Fatalf("hanging primary accepted %d connections, want 1", n)
	}
	wantDelivered(t, deliver(t, c, message("m2", "x@example.net")), second.Addr())
	if n := hang.Accepts(); n != 1 {
		t.Errorf("second message went to the hanging primary again (%d connections)", n)
	}
	second.Wait(t, 2, 5*time.Second)
}

func TestTrafficReturnsAfterBackoff(t *testing.T) {
	t.Parallel()
	clock := newClock()
	primary := testutil.NewUpstream(t)
	primary.Stop()
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{
		Upstreams:   relays(TLSNone, primary.Addr(), second.Addr()),
		DownBackoff: time.Minute, DownBackoffMax: 10 * time.Minute,
		Now: clock.Now,
	})

	wantDelivered(t, deliver(t, c, message("m1", "x@example.net")), second.Addr())
	primary.Start()
	wantDelivered(t, deliver(t, c, message("m2", "x@example.net")), second.Addr())
	if n := primary.Connections(); n != 0 {
		t.Fatalf("primary was tried while down (%d connections)", n)
	}
	st := c.Status()[0]
	if st.Up || !st.DownUntil.Equal(clock.Now().Add(time.Minute)) || !st.DownSince.Equal(clock.Now()) {
		t.Fatalf("primary status = %+v", st)
	}

	clock.Advance(time.Minute + time.Second)
	wantDelivered(t, deliver(t, c, message("m3", "x@example.net")), primary.Addr())
	if st := c.Status()[0]; !st.Up || st.ConsecutiveFailures != 0 || !st.DownSince.IsZero() {
		t.Errorf("primary status after probe = %+v", st)
	}
	wantDelivered(t, deliver(t, c, message("m4", "x@example.net")), primary.Addr())
	primary.Wait(t, 2, 5*time.Second)
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	t.Parallel()
	clock := newClock()
	c := testCourier(t, Options{
		Upstreams:   relays(TLSNone, testutil.ClosedAddr(t)),
		DownBackoff: time.Minute, DownBackoffMax: 3 * time.Minute,
		Now: clock.Now,
	})
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		res := deliver(t, c, message("m", "x@example.net"))
		if !smtperr.Temporary(res[0].Err) {
			t.Fatalf("round %d: err = %v, want temporary", i, res[0].Err)
		}
		st := c.Status()[0]
		if st.ConsecutiveFailures != i+1 || !st.DownUntil.Equal(clock.Now().Add(want)) {
			t.Fatalf("round %d: status %+v, want down for %v", i, st, want)
		}
		clock.Advance(want)
	}
}

func TestAllUpstreamsDown(t *testing.T) {
	t.Parallel()
	a, b := testutil.ClosedAddr(t), testutil.ClosedAddr(t)
	clock := newClock()
	c := testCourier(t, Options{Upstreams: relays(TLSNone, a, b), Now: clock.Now,
		DownBackoff: time.Minute, DownBackoffMax: time.Hour})
	check := func(round int, wantAddr string, wantFailures int) {
		t.Helper()
		res := deliver(t, c, message("m", "x@example.net", "y@example.net"))
		for _, r := range res {
			var ce *ConnError
			if !smtperr.Temporary(r.Err) || !errors.As(r.Err, &ce) || ce.Addr != wantAddr || r.Upstream != "" {
				t.Errorf("round %d %s: err=%v upstream=%q, want temporary connection error for %q", round, r.Rcpt, r.Err, r.Upstream, wantAddr)
			}
		}
		if st := c.Status(); st[0].ConsecutiveFailures != wantFailures || st[1].ConsecutiveFailures != wantFailures {
			t.Errorf("round %d: Status = %+v, want %d failures each", round, st, wantFailures)
		}
	}
	// Both are tried and fail over in order.
	check(0, b, 1)
	// While both are in their down period, nothing is dialled: a dead pair
	// costs one attempt per backoff period, not one per message.
	check(1, "", 1)
	check(2, "", 1)
	// When the period ends, the next delivery probes them again.
	clock.Advance(time.Minute)
	check(3, b, 2)
}

func TestRcptPermanentFailsOnlyThatRecipient(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	second := testutil.NewUpstream(t)
	u.SetScript(testutil.Script{Rcpt: func(r string) error {
		if strings.HasPrefix(r, "bad@") {
			return smtperr.New(550, [3]int{5, 1, 1}, "no such user")
		}
		return nil
	}})
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr(), second.Addr())})

	res := deliver(t, c, message("m", "a@example.net", "bad@example.net", "c@example.net"))
	wantDelivered(t, []Result{res[0], res[2]}, u.Addr())
	var se *smtperr.Error
	if !errors.As(res[1].Err, &se) || se.Code != 550 || se.Enhanced != [3]int{5, 1, 1} || res[1].Upstream != u.Addr() {
		t.Errorf("bad@: err=%v upstream=%q, want 550 5.1.1 from primary", res[1].Err, res[1].Upstream)
	}
	got := u.Wait(t, 1, 5*time.Second)
	if len(got) != 1 || strings.Join(got[0].Rcpts, ",") != "a@example.net,c@example.net" {
		t.Errorf("primary got %+v, want one transaction for a and c", got)
	}
	if n := len(second.Messages()); n != 0 {
		t.Errorf("secondary got %d messages for a permanent failure", n)
	}
}

func TestRcptTemporaryMovesToSecondary(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	second := testutil.NewUpstream(t)
	u.SetScript(testutil.Script{Rcpt: func(r string) error {
		if r == "grey@example.net" {
			return smtperr.New(450, [3]int{4, 2, 0}, "try later")
		}
		return nil
	}})
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr(), second.Addr())})

	res := deliver(t, c, message("m", "a@example.net", "grey@example.net"))
	wantDelivered(t, res[:1], u.Addr())
	wantDelivered(t, res[1:], second.Addr())
	if got := second.Wait(t, 1, 5*time.Second); strings.Join(got[0].Rcpts, ",") != "grey@example.net" {
		t.Errorf("secondary got %v", got[0].Rcpts)
	}
	if !c.Status()[0].Up {
		t.Error("a recipient-specific 4xx marked the primary down")
	}
}

func TestGreeting421FailsOver(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	u.SetScript(testutil.Script{Greeting: smtperr.New(421, [3]int{4, 3, 2}, "maintenance")})
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr(), second.Addr())})

	wantDelivered(t, deliver(t, c, message("m", "a@example.net")), second.Addr())
	if st := c.Status()[0]; st.Up || !strings.Contains(st.LastError, "421") {
		t.Errorf("primary status = %+v, want down with the 421", st)
	}
}

func TestMailTemporaryFailsOverPermanentDoesNot(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr(), second.Addr()), Now: newClock().Now})

	u.SetScript(testutil.Script{Mail: smtperr.New(451, [3]int{4, 3, 0}, "busy")})
	wantDelivered(t, deliver(t, c, message("m1", "a@example.net")), second.Addr())
	if c.Status()[0].Up {
		t.Error("4xx at MAIL did not mark the primary down")
	}

	u2 := testutil.NewUpstream(t)
	u2.SetScript(testutil.Script{Mail: smtperr.New(550, [3]int{5, 7, 1}, "sender rejected")})
	c2 := testCourier(t, Options{Upstreams: relays(TLSNone, u2.Addr(), second.Addr())})
	res := deliver(t, c2, message("m2", "a@example.net", "b@example.net"))
	for _, r := range res {
		if !smtperr.Permanent(r.Err) || r.Upstream != u2.Addr() {
			t.Errorf("%s: err=%v upstream=%q, want permanent from primary", r.Rcpt, r.Err, r.Upstream)
		}
	}
	if n := len(second.Messages()); n != 1 {
		t.Errorf("secondary has %d messages, want only the first one", n)
	}
}

func TestDataReplies(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr(), second.Addr())})

	u.SetScript(testutil.Script{Data: smtperr.New(452, [3]int{4, 3, 1}, "disk full")})
	wantDelivered(t, deliver(t, c, message("m1", "a@example.net")), second.Addr())

	u.SetScript(testutil.Script{Data: smtperr.New(554, [3]int{5, 7, 1}, "spam")})
	res := deliver(t, c, message("m2", "a@example.net"))
	if !smtperr.Permanent(res[0].Err) || res[0].Upstream != u.Addr() {
		t.Errorf("err=%v upstream=%q, want permanent from primary", res[0].Err, res[0].Upstream)
	}
	if n := len(second.Messages()); n != 1 {
		t.Errorf("secondary has %d messages, want 1", n)
	}
}

func TestDropMidDataFailsOver(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	u.SetScript(testutil.Script{DropInData: true})
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr(), second.Addr())})

	wantDelivered(t, deliver(t, c, message("m", "a@example.net")), second.Addr())
	if len(u.Messages()) != 0 || c.Status()[0].Up {
		t.Errorf("primary: %d messages, status %+v", len(u.Messages()), c.Status()[0])
	}

	alone := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr())})
	res := deliver(t, alone, message("m2", "a@example.net"))
	if !smtperr.Temporary(res[0].Err) {
		t.Errorf("err = %v, want temporary", res[0].Err)
	}
}

func TestHangAfterDataIsMaybeDelivered(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	u.SetScript(testutil.Script{HangAfterData: true})
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr()), DataTimeout: 200 * time.Millisecond})

	res := deliver(t, c, message("m", "a@example.net", "b@example.net"))
	for _, r := range res {
		var ce *ConnError
		if !smtperr.Temporary(r.Err) || !r.MaybeDelivered || r.Upstream != u.Addr() || !errors.As(r.Err, &ce) || !ce.Timeout() {
			t.Errorf("%s: %+v, want temporary timeout with MaybeDelivered", r.Rcpt, r)
		}
	}
}

func TestEhloTemporaryFailsOver(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	u.SetScript(testutil.Script{Ehlo: smtperr.New(451, [3]int{4, 3, 0}, "not today")})
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr(), second.Addr())})
	wantDelivered(t, deliver(t, c, message("m", "a@example.net")), second.Addr())
	if st := c.Status()[0]; st.Up || !strings.Contains(st.LastError, "451") {
		t.Errorf("primary status = %+v, want down with the 451", st)
	}
}
