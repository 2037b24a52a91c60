package smtpd

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"github.com/posthorn/posthorn/internal/maillog"
)

func TestLoginFailuresLockAName(t *testing.T) {
	t.Parallel()
	var f loginFailures
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const limit, window = 3, time.Minute
	for i := 0; i < limit-1; i++ {
		if until := f.fail("svc", limit, window, t0.Add(time.Duration(i)*time.Second)); !until.IsZero() {
			t.Fatalf("failure %d locked the name until %v", i+1, until)
		}
	}
	if f.locked("svc", limit, window, t0.Add(2*time.Second)) {
		t.Fatal("locked before the limit")
	}
	until := f.fail("svc", limit, window, t0.Add(2*time.Second))
	if want := t0.Add(window); !until.Equal(want) {
		t.Fatalf("third failure: locked until %v, want %v", until, want)
	}
	if !f.locked("svc", limit, window, t0.Add(30*time.Second)) {
		t.Error("not locked after the limit")
	}
	if f.locked("other", limit, window, t0.Add(30*time.Second)) {
		t.Error("another name is locked too")
	}
	if f.locked("svc", limit, window, t0.Add(window)) {
		t.Error("still locked once the oldest failure left the window")
	}
	// No per-name limit: nothing is remembered.
	var off loginFailures
	for i := 0; i < 10; i++ {
		off.fail("svc", 0, window, t0)
	}
	if off.locked("svc", 0, window, t0) || off.names() != 0 {
		t.Error("limit 0 locks or remembers names")
	}
}

// TestLoginFailuresAreBounded floods the tracker with more random names
// than it keeps: it stays at its bound, and a locked name survives the
// flood (one-off names are evicted first).
func TestLoginFailuresAreBounded(t *testing.T) {
	t.Parallel()
	var f loginFailures
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const limit, window = 3, 15 * time.Minute
	for i := 0; i < limit; i++ {
		f.fail("sentry-prod", limit, window, now)
	}
	for i := 0; i < maxTrackedLogins+500; i++ {
		f.fail(fmt.Sprintf("random-%d", i), limit, window, now.Add(time.Millisecond))
	}
	if n := f.names(); n != maxTrackedLogins {
		t.Errorf("%d names remembered, want the bound %d", n, maxTrackedLogins)
	}
	if !f.locked("sentry-prod", limit, window, now.Add(time.Second)) {
		t.Error("the flood of random names lifted the lock of sentry-prod")
	}

	// A small table: names whose failures left the window go first.
	small := loginFailures{max: 4}
	small.fail("old", limit, window, now)
	for i := 0; i < 3; i++ {
		small.fail(fmt.Sprintf("new-%d", i), limit, window, now.Add(window-time.Second))
	}
	small.fail("newest", limit, window, now.Add(window))
	if n := small.names(); n != 4 {
		t.Errorf("small table: %d names, want 4", n)
	}
	if _, ok := small.m[loginKey("old")]; ok {
		t.Error("the expired name was kept")
	}
}

// authFrom logs in from the loopback address local and returns the AUTH
// reply, and whether the connection is still open after it.
func authFrom(t *testing.T, addr, local string, auth sasl.Client) (open bool, err error) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	err = c.Auth(auth)
	return c.Noop() == nil, err
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAuthLockoutPerLoginName: failures for one login name from three
// addresses (each under its own limit) lock that name: a fourth address
// with the right password gets 454 and is disconnected; an unknown name
// locks the same way; another service still logs in; once the window
// passes the right password works again.
func TestAuthLockoutPerLoginName(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var logs syncBuffer
	addr, _, events := authServer(t, func(o *Options) {
		o.Services = append(o.Services, Service{Name: "gerrit", Password: testHash(t)})
		o.AuthFailureLimitPerUser = 3
		o.Now = clock
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for _, name := range []string{"sentry-prod", "nobody"} {
		for i, local := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
			if _, err := authFrom(t, addr, local, sasl.NewPlainClient("", name, "wrong")); code(err) != 535 {
				t.Fatalf("%s, failure %d from %s: %v, want 535", name, i+1, local, err)
			}
		}
	}
	for _, name := range []string{"sentry-prod", "nobody"} {
		for _, auth := range []sasl.Client{sasl.NewPlainClient("", name, "s3cret"), sasl.NewLoginClient(name, "s3cret")} {
			open, err := authFrom(t, addr, "127.0.0.5", auth)
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != 454 || se.EnhancedCode != (smtp.EnhancedCode{4, 7, 0}) {
				t.Fatalf("%s locked, right password: %v, want 454 4.7.0", name, err)
			}
			if open {
				t.Errorf("%s locked: connection still open after 454", name)
			}
		}
	}
	if _, err := authFrom(t, addr, "127.0.0.5", sasl.NewPlainClient("", "gerrit", "s3cret")); err != nil {
		t.Fatalf("another login during the lockout: %v", err)
	}
	var locks, refused int
	for _, e := range events() {
		if e.Kind == maillog.Rejected && e.Stage == "auth" {
			if strings.Contains(e.Reply, "login locked until 2026-01-02T03:19:05Z") {
				locks++
			}
			if strings.HasPrefix(e.Reply, "too many failed logins for ") {
				refused++
			}
		}
	}
	if locks != 2 || refused != 4 {
		t.Errorf("mail log: %d lock events (want 2), %d refusals (want 4)", locks, refused)
	}
	if l := logs.String(); strings.Count(l, "SMTP AUTH login name locked") != 2 || !strings.Contains(l, "user=sentry-prod") {
		t.Errorf("warnings:\n%s", l)
	}

	mu.Lock()
	now = now.Add(15 * time.Minute)
	mu.Unlock()
	if _, err := authFrom(t, addr, "127.0.0.5", sasl.NewPlainClient("", "sentry-prod", "s3cret")); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestUnknownLoginIsHashed: an unknown name costs a hash verification
// like a wrong password, against a decoy of the configured parameters,
// and never logs in even when that verification says yes.
func TestUnknownLoginIsHashed(t *testing.T) {
	t.Parallel()
	real := testHash(t)
	srv := New(Options{Hostname: "relay.test", Services: []Service{
		{Name: "local"}, {Name: "sentry", Login: "sentry-prod", Password: real}}})
	var verified []*PasswordHash
	var answer bool
	srv.verifyHash = func(h *PasswordHash, _ string) bool {
		verified = append(verified, h)
		return answer
	}
	sess := &session{s: srv, ip: netip.MustParseAddr("127.0.0.1")}
	if err := sess.login("nobody", "s3cret"); code(err) != 535 {
		t.Fatalf("unknown name: %v, want 535", err)
	}
	if err := sess.login("sentry-prod", "wrong"); code(err) != 535 {
		t.Fatalf("wrong password: %v, want 535", err)
	}
	if len(verified) != 2 {
		t.Fatalf("%d verifications for an unknown name and a wrong password, want 2", len(verified))
	}
	d := verified[0]
	if d == real || d != srv.decoy {
		t.Fatal("the unknown name was not verified against the decoy")
	}
	if d.memory != real.memory || d.time != real.time || d.threads != real.threads ||
		len(d.salt) != len(real.salt) || len(d.sum) != len(real.sum) || bytes.Equal(d.salt, real.salt) {
		t.Errorf("decoy m=%d t=%d p=%d salt %d sum %d; configured m=%d t=%d p=%d salt %d sum %d",
			d.memory, d.time, d.threads, len(d.salt), len(d.sum), real.memory, real.time, real.threads, len(real.salt), len(real.sum))
	}
	if verified[1] != real {
		t.Error("the wrong password was not verified against the service's hash")
	}
	answer = true
	if err := sess.login("nobody", "anything"); code(err) != 535 || sess.trusted {
		t.Fatalf("unknown name with a verifier saying yes: %v, trusted %v", err, sess.trusted)
	}
	if err := sess.login("sentry-prod", "s3cret"); err != nil || sess.service != "sentry" {
		t.Fatalf("right password: %v, service %q", err, sess.service)
	}
}

// TestDecoyHashBcrypt: the decoy of a bcrypt hash has its version and
// cost, and a verification against it runs to the end (a mismatch, not a
// malformed hash).
func TestDecoyHashBcrypt(t *testing.T) {
	t.Parallel()
	b, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	real, err := ParsePasswordHash(string(b))
	if err != nil {
		t.Fatal(err)
	}
	d := decoyHash(real)
	if d.bcrypt == nil || len(d.bcrypt) != len(b) || string(d.bcrypt[:7]) != string(b[:7]) || bytes.Equal(d.bcrypt, b) {
		t.Fatalf("decoy %q of %q", d.bcrypt, b)
	}
	if _, err := ParsePasswordHash(string(d.bcrypt)); err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword(d.bcrypt, []byte("pw")); !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Errorf("verification against the decoy: %v, want a mismatch", err)
	}
	if real.Verify("pw") == false || d.Verify("pw") {
		t.Error("verification")
	}
	if decoyHash(testHash(t)).Verify("s3cret") {
		t.Error("the argon2id decoy accepts the configured password")
	}
}
