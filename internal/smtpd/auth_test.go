package smtpd

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/posthorn/posthorn/internal/maillog"
)

// testHash is a cheap argon2id hash of "s3cret" (m=64 KiB keeps the tests
// fast; the format is the production one).
func testHash(t testing.TB) *PasswordHash {
	t.Helper()
	sum := argon2.IDKey([]byte("s3cret"), []byte("saltsalt"), 1, 64, 1, 32)
	h, err := ParsePasswordHash("$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString([]byte("saltsalt")) +
		"$" + base64.RawStdEncoding.EncodeToString(sum))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// authServer starts a server that trusts no network, with the service
// "sentry" able to log in; events are collected.
func authServer(t *testing.T, edit func(*Options)) (string, *storeSpool, func() []maillog.Event) {
	t.Helper()
	var mu sync.Mutex
	var events []maillog.Event
	addr, sp := startServer(t, func(o *Options) {
		o.TrustedNetworks = nil
		o.Services = []Service{
			{Name: "local", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
			{Name: "sentry", Login: "sentry-prod", Password: testHash(t)},
		}
		o.AuthFailureLimit = 3
		o.MailLog = maillog.New(nil, maillog.SinkFunc(func(e maillog.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}))
		if edit != nil {
			edit(o)
		}
	})
	return addr, sp, func() []maillog.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]maillog.Event(nil), events...)
	}
}

func sendAuth(addr string, auth sasl.Client, rcpt string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	return c.SendMail("app@example.org", []string{rcpt}, strings.NewReader("Subject: auth\r\n\r\nx\r\n"))
}

func TestAuthSetsServiceAndAllowsRelay(t *testing.T) {
	t.Parallel()
	addr, sp, _ := authServer(t, nil)
	if err := sendAuth(addr, nil, "b@example.net"); code(err) != 554 {
		t.Fatalf("without AUTH: %v, want 554 relay denied", err)
	}
	for _, auth := range []sasl.Client{
		sasl.NewPlainClient("", "sentry-prod", "s3cret"),
		sasl.NewLoginClient("sentry-prod", "s3cret"),
	} {
		if err := sendAuth(addr, auth, "b@example.net"); err != nil {
			t.Fatalf("after AUTH: %v", err)
		}
	}
	msgs := sp.messages()
	if len(msgs) != 2 || msgs[0].Env.Service != "sentry" || msgs[1].Env.Service != "sentry" {
		t.Fatalf("messages %d, services %v", len(msgs), msgs)
	}
}

func TestAuthFailuresAreLimited(t *testing.T) {
	t.Parallel()
	addr, sp, events := authServer(t, nil)
	for i, auth := range []sasl.Client{
		sasl.NewPlainClient("", "sentry-prod", "wrong"),
		sasl.NewPlainClient("", "nobody", "s3cret"),
		sasl.NewLoginClient("sentry-prod", "wrong"),
	} {
		err := sendAuth(addr, auth, "b@example.net")
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 535 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 8}) {
			t.Fatalf("bad login %d: %v, want 535 5.7.8", i, err)
		}
	}
	// The limit is reached: even the right password is refused and the
	// connection closed.
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	err = c.Auth(sasl.NewPlainClient("", "sentry-prod", "s3cret"))
	if code(err) != 454 {
		t.Fatalf("after 3 failures: %v, want 454", err)
	}
	if err := c.Noop(); err == nil {
		t.Fatal("connection still open after 454")
	}
	if n := len(sp.messages()); n != 0 {
		t.Fatalf("%d messages spooled", n)
	}
	var auths int
	for _, e := range events() {
		if e.Kind == maillog.Rejected && e.Stage == "auth" {
			auths++
		}
	}
	if auths != 4 {
		t.Errorf("%d auth rejections logged, want 4", auths)
	}
}

// rawSession speaks SMTP by hand on conn.
type rawSession struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawSession {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := &rawSession{t: t, c: c, br: bufio.NewReader(c)}
	r.reply() // greeting
	return r
}

// reply reads one (multi-line) reply and returns it whole.
func (r *rawSession) reply() string {
	r.t.Helper()
	var all strings.Builder
	for i := 0; i < 100; i++ {
		line, err := r.br.ReadString('\n')
		all.WriteString(line)
		if err != nil {
			return all.String() + "<" + err.Error() + ">"
		}
		if len(line) < 4 || line[3] != '-' {
			break
		}
	}
	return all.String()
}

func (r *rawSession) cmd(format string, args ...any) string {
	r.t.Helper()
	fmt.Fprintf(r.c, format+"\r\n", args...)
	return r.reply()
}

// TestAuthNeedsTLSOffLoopback: AUTH is offered on loopback and over TLS;
// from another address on a plain connection it is neither offered nor
// accepted (538), unless AllowAuthWithoutTLS.
func TestAuthNeedsTLSOffLoopback(t *testing.T) {
	t.Parallel()
	addr, _, _ := authServer(t, nil)
	r := dialRaw(t, addr)
	if ehlo := r.cmd("EHLO client.test"); !strings.Contains(ehlo, "AUTH PLAIN LOGIN") {
		t.Fatalf("loopback EHLO lacks AUTH:\n%s", ehlo)
	}
	srv := New(Options{Hostname: "relay.test", Services: []Service{{Name: "sentry", Password: testHash(t)}}})
	remote := netip.MustParseAddr("192.0.2.7")
	plain := &session{s: srv, ip: remote}
	if m := plain.AuthMechanisms(); m != nil {
		t.Errorf("plain, remote: mechanisms %v, want none", m)
	}
	if _, err := plain.Auth("PLAIN"); code(err) != 538 {
		t.Errorf("plain, remote: Auth = %v, want 538", err)
	}
	overTLS := &session{s: srv, ip: remote, tls: true}
	if m := overTLS.AuthMechanisms(); len(m) != 2 {
		t.Errorf("TLS, remote: mechanisms %v", m)
	}
	if _, err := overTLS.Auth("PLAIN"); err != nil {
		t.Errorf("TLS, remote: Auth = %v", err)
	}
	if _, err := overTLS.Auth("CRAM-MD5"); code(err) != 504 {
		t.Errorf("unknown mechanism: %v, want 504", err)
	}
	lax := New(Options{Hostname: "relay.test", AllowAuthWithoutTLS: true, Services: []Service{{Name: "sentry", Password: testHash(t)}}})
	if m := (&session{s: lax, ip: remote}).AuthMechanisms(); len(m) != 2 {
		t.Errorf("AllowAuthWithoutTLS: mechanisms %v", m)
	}
	none := New(Options{Hostname: "relay.test"})
	if m := (&session{s: none, ip: netip.MustParseAddr("127.0.0.1")}).AuthMechanisms(); m != nil {
		t.Errorf("no service can log in: mechanisms %v, want none", m)
	}
}

// TestAuthOverSTARTTLS logs in after STARTTLS.
func TestAuthOverSTARTTLS(t *testing.T) {
	t.Parallel()
	cs, pool, _ := newCertStore(t, "relay.test", nil)
	addr, sp, _ := authServer(t, func(o *Options) { o.TLSConfig = TLSConfig(cs) })
	c, err := smtp.DialStartTLS(addr, &tls.Config{ServerName: "relay.test", RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "sentry-prod", "s3cret")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("a@example.org", []string{"b@example.net"}, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if m := sp.messages(); len(m) != 1 || m[0].Env.Service != "sentry" {
		t.Fatalf("messages %+v", m)
	}
}

func TestPasswordHashes(t *testing.T) {
	t.Parallel()
	h := HashPassword("pw", []byte("0123456789abcdef"))
	p, err := ParsePasswordHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verify("pw") || p.Verify("pW") || p.Verify("") {
		t.Error("argon2id verification")
	}
	b, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	p, err = ParsePasswordHash(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verify("pw") || p.Verify("px") {
		t.Error("bcrypt verification")
	}
	for _, bad := range []string{"", "pw", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA", "$2b$04$short", "$argon2id$v=19$m=64,t=1,p=1$!!$!!"} {
		if _, err := ParsePasswordHash(bad); !errors.Is(err, ErrBadHash) {
			t.Errorf("ParsePasswordHash(%q) = %v", bad, err)
		}
	}
}
