package courier

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/testutil"
)

func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr())})
	for i := range 3 {
		wantDelivered(t, deliver(t, c, message(fmt.Sprintf("m%d", i), "a@example.net")), u.Addr())
	}
	got := u.Wait(t, 3, 5*time.Second)
	if n := u.Connections(); n != 1 {
		t.Errorf("%d connections for 3 messages, want 1", n)
	}
	for _, m := range got {
		if m.Conn != 1 {
			t.Errorf("message on connection %d", m.Conn)
		}
	}
}

func TestReuseAfterRejectedRecipients(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	u.SetScript(testutil.Script{Rcpt: func(r string) error {
		if r == "bad@example.net" {
			return smtperr.New(550, [3]int{5, 1, 1}, "no")
		}
		return nil
	}})
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr())})
	if res := deliver(t, c, message("m1", "bad@example.net")); !smtperr.Permanent(res[0].Err) {
		t.Fatalf("err = %v, want permanent", res[0].Err)
	}
	wantDelivered(t, deliver(t, c, message("m2", "a@example.net")), u.Addr())
	if got := u.Wait(t, 1, 5*time.Second); got[0].Conn != 1 || u.Connections() != 1 {
		t.Errorf("message on connection %d of %d, want the reused first one", got[0].Conn, u.Connections())
	}
}

func TestDeadPooledConnectionIsReplaced(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr())})
	wantDelivered(t, deliver(t, c, message("m1", "a@example.net")), u.Addr())
	u.Stop() // kills the pooled connection
	u.Start()
	wantDelivered(t, deliver(t, c, message("m2", "a@example.net")), u.Addr())
	if st := c.Status()[0]; !st.Up || st.ConsecutiveFailures != 0 {
		t.Errorf("status = %+v: a dead pooled connection counted as a failure", st)
	}
	if got := u.Wait(t, 2, 5*time.Second); got[1].Conn != 2 {
		t.Errorf("second message on connection %d, want 2", got[1].Conn)
	}
}

func TestIdleTimeoutDropsPooledConnection(t *testing.T) {
	t.Parallel()
	clock := newClock()
	u := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr()), IdleTimeout: time.Minute, Now: clock.Now})
	wantDelivered(t, deliver(t, c, message("m1", "a@example.net")), u.Addr())
	clock.Advance(2 * time.Minute)
	wantDelivered(t, deliver(t, c, message("m2", "a@example.net")), u.Addr())
	if n := u.Connections(); n != 2 {
		t.Errorf("%d connections, want a fresh one after the idle timeout", n)
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	primary := testutil.NewUpstream(t)
	primary.SetScript(testutil.Script{Greeting: smtperr.New(421, [3]int{4, 3, 2}, "down")})
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, primary.Addr(), second.Addr()), MaxIdlePerHost: 2})
	const n = 16
	var wg sync.WaitGroup
	results := make([][]Result, n)
	for i := range n {
		wg.Go(func() {
			results[i] = c.Deliver(context.Background(), message(fmt.Sprintf("m%d", i), "a@example.net", "b@example.net"))
		})
	}
	wg.Wait()
	for _, res := range results {
		wantDelivered(t, res, second.Addr())
	}
	second.Wait(t, n, 5*time.Second)
}

func TestNullSenderAndSMTPUTF8(t *testing.T) {
	t.Parallel()
	plain := testutil.NewUpstream(t)
	utf8 := testutil.NewUpstream(t, testutil.WithSMTPUTF8())
	c := testCourier(t, Options{Upstreams: relays(TLSNone, plain.Addr(), utf8.Addr())})

	m := message("bounce", "a@example.net")
	m.From = ""
	wantDelivered(t, deliver(t, c, m), plain.Addr())
	if got := plain.Wait(t, 1, 5*time.Second); got[0].From != "" {
		t.Errorf("null sender arrived as %q", got[0].From)
	}

	m = message("intl", "ünï@example.net")
	m.SMTPUTF8 = true
	res := deliver(t, c, m)
	var se *smtperr.Error
	if !errors.As(res[0].Err, &se) || se.Status() != "5.6.7" {
		t.Errorf("err = %v, want permanent 5.6.7 from the primary that lacks SMTPUTF8", res[0].Err)
	}

	c2 := testCourier(t, Options{Upstreams: relays(TLSNone, utf8.Addr())})
	wantDelivered(t, deliver(t, c2, m), utf8.Addr())
}

// failingBody fails to read after its first bytes, like a bad disk.
type failingBody struct{}

func (failingBody) ReadAt(p []byte, off int64) (int, error) {
	if off == 0 && len(p) > 10 {
		return copy(p, "Subject: x"), errors.New("disk on fire")
	}
	return 0, errors.New("disk on fire")
}

func TestUnreadableBodyIsNotSentAnywhere(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	second := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr(), second.Addr())})
	m := &Message{ID: "bad", From: "a@example.org", Rcpts: []string{"x@example.net"}, Size: 1000, Body: failingBody{}}
	res := deliver(t, c, m)
	var be *BodyError
	if !errors.As(res[0].Err, &be) || !smtperr.Temporary(res[0].Err) {
		t.Fatalf("err = %v, want temporary BodyError", res[0].Err)
	}
	if len(u.Messages())+len(second.Messages()) != 0 || second.Connections() != 0 {
		t.Error("a partial body was delivered or failed over")
	}
	if !c.Status()[0].Up {
		t.Error("a local read error marked the upstream down")
	}
}

// bigBody is a large message generated on the fly.
type bigBody struct{ size int64 }

func (b bigBody) ReadAt(p []byte, off int64) (int, error) {
	if off >= b.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), b.size-off)
	for i := range n {
		if (off+i)%64 == 63 {
			p[i] = '\n'
		} else {
			p[i] = 'x'
		}
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

func TestLargeBodyStreams(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr())})
	const size = 4 << 20
	m := &Message{ID: "big", From: "a@example.org", Rcpts: []string{"x@example.net"}, Size: size, Body: bigBody{size}}
	wantDelivered(t, deliver(t, c, m), u.Addr())
	got := u.Wait(t, 1, 10*time.Second)
	// The body's bare LFs arrive as CRLF: one extra byte per line.
	if want := size + size/64; len(got[0].Data) != want {
		t.Errorf("received %d bytes, want %d", len(got[0].Data), want)
	}
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()
	hang := testutil.NewHangListener(t)
	c := testCourier(t, Options{Upstreams: relays(TLSNone, hang.Addr()), ConnectTimeout: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res := c.Deliver(ctx, message("m", "a@example.net"))
	if !smtperr.Temporary(res[0].Err) {
		t.Errorf("err = %v, want temporary", res[0].Err)
	}
	if !c.Status()[0].Up {
		t.Error("our own cancellation marked the upstream down")
	}
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	cfg, roots := testutil.SelfSignedTLS(t, "127.0.0.1")
	tlsUp := testutil.NewUpstream(t, testutil.WithTLS(cfg))
	plain := testutil.NewUpstream(t)

	t.Run("opportunistic self-signed", func(t *testing.T) {
		t.Parallel()
		c := testCourier(t, Options{Upstreams: relays(TLSOpportunistic, tlsUp.Addr())})
		m := message("opp", "tls-opp@example.net")
		wantDelivered(t, deliver(t, c, m), tlsUp.Addr())
		if got := findRcpt(t, tlsUp, "tls-opp@example.net"); !got.TLS || got.Helo != "client.test" {
			t.Errorf("message TLS=%v helo=%q, want STARTTLS and our EHLO name", got.TLS, got.Helo)
		}
	})
	t.Run("opportunistic without offer", func(t *testing.T) {
		t.Parallel()
		c := testCourier(t, Options{Upstreams: relays(TLSOpportunistic, plain.Addr())})
		wantDelivered(t, deliver(t, c, message("m", "a@example.net")), plain.Addr())
	})
	t.Run("required untrusted fails over", func(t *testing.T) {
		t.Parallel()
		c := testCourier(t, Options{Upstreams: relays(TLSRequired, tlsUp.Addr(), plain.Addr())})
		// The secondary is required too but offers no STARTTLS: both fail.
		res := deliver(t, c, message("m", "untrusted@example.net"))
		var te *TLSError
		if !errors.As(res[0].Err, &te) || !smtperr.Temporary(res[0].Err) {
			t.Errorf("err = %v, want temporary TLSError", res[0].Err)
		}
		if st := c.Status(); st[0].Up || st[1].Up {
			t.Errorf("status = %+v, want both down", st)
		}
		c2 := testCourier(t, Options{Upstreams: []Upstream{{Addr: tlsUp.Addr(), TLS: TLSRequired}, {Addr: plain.Addr(), TLS: TLSNone}}})
		wantDelivered(t, deliver(t, c2, message("m", "untrusted2@example.net")), plain.Addr())
	})
	t.Run("required trusted", func(t *testing.T) {
		t.Parallel()
		c := testCourier(t, Options{Upstreams: relays(TLSRequired, tlsUp.Addr()), RootCAs: roots})
		wantDelivered(t, deliver(t, c, message("m", "trusted@example.net")), tlsUp.Addr())
		if got := findRcpt(t, tlsUp, "trusted@example.net"); !got.TLS {
			t.Error("message not sent under TLS")
		}
	})
	t.Run("opportunistic broken handshake falls back", func(t *testing.T) {
		t.Parallel()
		broken := testutil.NewUpstream(t, testutil.WithTLS(&tls.Config{})) // no certificate
		c := testCourier(t, Options{Upstreams: relays(TLSOpportunistic, broken.Addr())})
		wantDelivered(t, deliver(t, c, message("m", "a@example.net")), broken.Addr())
		if got := broken.Wait(t, 1, 5*time.Second); got[0].TLS || broken.Connections() != 2 {
			t.Errorf("TLS=%v connections=%d, want plaintext on a second connection", got[0].TLS, broken.Connections())
		}
	})
}

// findRcpt returns the message u received for rcpt.
func findRcpt(t *testing.T, u *testutil.Upstream, rcpt string) testutil.Received {
	t.Helper()
	for _, m := range u.Messages() {
		if strings.Join(m.Rcpts, ",") == rcpt {
			return m
		}
	}
	t.Fatalf("no message for %s", rcpt)
	return testutil.Received{}
}
