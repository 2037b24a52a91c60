package smtpd

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/spool"
)

func frontServer(t *testing.T, host string, maxRcpts int, sp Spooler) *Server {
	return New(Options{
		Hostname: host, TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxMessageSize: 10000, MaxRecipients: maxRcpts, MaxReceived: 5, MaxConnections: 10,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, MaxSessionTime: time.Minute,
		Spool: sp,
	})
}

func greeting(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// TestFrontSwapKeepsSessionsAndListeners: after a swap, new connections get
// the new server, a session opened before goes on under the old one, and
// the listener is the same socket throughout.
func TestFrontSwapKeepsSessionsAndListeners(t *testing.T) {
	t.Parallel()
	st, err := spool.Open(filepath.Join(t.TempDir(), "q"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sp := &storeSpool{Store: st}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	f := NewFront(frontServer(t, "one.test", 1, sp), nil)
	f.AddListener("test", ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.Shutdown(ctx)
	})
	if g := greeting(t, addr); !strings.Contains(g, "one.test") {
		t.Fatalf("greeting %q, want one.test", g)
	}
	old, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.Hello("client.test"); err != nil {
		t.Fatal(err)
	}

	f.Swap(context.Background(), frontServer(t, "two.test", 3, sp))
	if g := greeting(t, addr); !strings.Contains(g, "two.test") {
		t.Fatalf("greeting after swap %q, want two.test", g)
	}
	// The old session still runs under max_recipients 1.
	if err := old.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := old.Rcpt("b@example.net", nil); err != nil {
		t.Fatal(err)
	}
	if err := old.Rcpt("c@example.net", nil); err == nil {
		t.Fatal("old session accepted a second recipient: it runs under the new limits")
	}
	w, err := old.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: x\r\n\r\nx\r\n"))
	if err := w.Close(); err != nil {
		t.Fatalf("old session's message refused: %v", err)
	}
	old.Quit()
	// A new session runs under max_recipients 3.
	if err := send(t, addr, "a@example.org", []string{"b@example.net", "c@example.net"}, "Subject: y\r\n\r\ny\r\n"); err != nil {
		t.Fatalf("new session: %v", err)
	}
	if n := len(sp.messages()); n != 2 {
		t.Fatalf("%d messages spooled, want 2", n)
	}
}

func TestFrontListenRebindsOnlyChanges(t *testing.T) {
	t.Parallel()
	st, err := spool.Open(filepath.Join(t.TempDir(), "q"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFront(frontServer(t, "one.test", 1, &storeSpool{Store: st}), nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.Shutdown(ctx)
	})
	a, b := freeAddr(t), freeAddr(t)
	if err := f.Listen([]string{a}); err != nil {
		t.Fatal(err)
	}
	// A session open on a survives the rebind.
	c, err := smtp.Dial(a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := f.Listen([]string{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("session on kept listener: %v", err)
	}
	greeting(t, b)
	// A bind error changes nothing.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := f.Listen([]string{a, busy.Addr().String()}); err == nil {
		t.Fatal("bound an address in use")
	}
	greeting(t, b)
	if err := f.Listen([]string{b}); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", a, time.Second); err == nil {
		t.Fatalf("%s still listening after it was removed", a)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("session on a removed listener was cut: %v", err)
	}
	greeting(t, b)
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
