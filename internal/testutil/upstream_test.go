package testutil

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/smtperr"
)

func send(t *testing.T, addr, from string, to []string, body string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.CommandTimeout = 5 * time.Second
	c.SubmissionTimeout = 5 * time.Second
	return c.SendMail(from, to, strings.NewReader(body))
}

func TestUpstreamRecords(t *testing.T) {
	t.Parallel()
	u := NewUpstream(t)
	if err := send(t, u.Addr(), "a@example.org", []string{"b@example.net"}, "Subject: x\r\n\r\nhello\r\n"); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := u.Wait(t, 1, 5*time.Second)
	if msgs[0].From != "a@example.org" || len(msgs[0].Rcpts) != 1 || msgs[0].Rcpts[0] != "b@example.net" {
		t.Errorf("envelope = %+v", msgs[0])
	}
	if !strings.Contains(string(msgs[0].Data), "hello") || msgs[0].Conn != 1 {
		t.Errorf("message = %q conn %d", msgs[0].Data, msgs[0].Conn)
	}
	if got := u.Connections(); got != 1 {
		t.Errorf("Connections = %d, want 1", got)
	}
}

func TestUpstreamScriptedRcpt(t *testing.T) {
	t.Parallel()
	u := NewUpstream(t)
	u.SetScript(Script{Rcpt: func(r string) error {
		if strings.HasPrefix(r, "bad") {
			return smtperr.New(550, [3]int{5, 1, 1}, "no such user")
		}
		return nil
	}})
	err := send(t, u.Addr(), "", []string{"bad@example.net"}, "x\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("send = %v, want 550", err)
	}
}

func TestUpstreamGreetingAndStopStart(t *testing.T) {
	t.Parallel()
	u := NewUpstream(t)
	u.SetScript(Script{Greeting: smtperr.New(421, [3]int{4, 3, 2}, "not now")})
	err := send(t, u.Addr(), "a@x", []string{"b@y"}, "x\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 421 {
		t.Fatalf("send = %v, want 421", err)
	}
	u.SetScript(Script{})
	u.Stop()
	if _, err := net.DialTimeout("tcp", u.Addr(), time.Second); err == nil {
		t.Fatal("dial succeeded while stopped")
	}
	u.Start()
	if err := send(t, u.Addr(), "a@x", []string{"b@y"}, "x\r\n"); err != nil {
		t.Fatalf("send after Start: %v", err)
	}
	if got := u.Wait(t, 1, 5*time.Second); got[0].Conn != 2 {
		t.Errorf("Conn = %d, want 2", got[0].Conn)
	}
}

func TestClosedAndHang(t *testing.T) {
	t.Parallel()
	if c, err := net.DialTimeout("tcp", ClosedAddr(t), time.Second); err == nil {
		c.Close()
		t.Fatal("dial to ClosedAddr succeeded")
	}
	h := NewHangListener(t)
	c, err := net.DialTimeout("tcp", h.Addr(), time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	var b [1]byte
	if _, err := c.Read(b[:]); err == nil {
		t.Fatal("hang listener wrote")
	}
	if h.Accepts() != 1 {
		t.Errorf("Accepts = %d", h.Accepts())
	}
}

func TestSelfSignedTLS(t *testing.T) {
	t.Parallel()
	cfg, pool := SelfSignedTLS(t)
	u := NewUpstream(t, WithTLS(cfg))
	if c, err := smtp.DialStartTLS(u.Addr(), nil); err == nil {
		err = c.Noop() // the handshake happens on the first command
		c.Close()
		if err == nil {
			t.Fatal("STARTTLS verified an untrusted certificate")
		}
	}
	c, err := smtp.DialStartTLS(u.Addr(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("DialStartTLS with roots: %v", err)
	}
	defer c.Close()
	if err := c.SendMail("a@x", []string{"b@y"}, strings.NewReader("x\r\n")); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	if got := u.Wait(t, 1, 5*time.Second); !got[0].TLS {
		t.Error("message not marked TLS")
	}
}
