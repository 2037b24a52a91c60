package accounts

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.add(t, "ann@example.org", "correct horse")
	u, err := f.s.Authenticate(f.ctx, "ANN@example.org ", "correct horse", "192.0.2.1")
	if err != nil || u.Email != "ann@example.org" {
		t.Fatalf("good login: %v %+v", err, u)
	}
	var ce *CredentialsError
	for _, c := range [][2]string{{"ann@example.org", "wrong horse"}, {"nobody@example.org", "correct horse"}, {"", ""}} {
		if _, err := f.s.Authenticate(f.ctx, c[0], c[1], "192.0.2.1"); !errors.As(err, &ce) {
			t.Errorf("%q/%q: %v, want CredentialsError", c[0], c[1], err)
		}
	}
	if err := f.s.SetDisabled(f.ctx, "ann@example.org", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Authenticate(f.ctx, "ann@example.org", "correct horse", "192.0.2.1"); !errors.As(err, &ce) {
		t.Errorf("disabled: %v, want CredentialsError", err)
	}
}

func TestAccountLockout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.add(t, "ann@example.org", "correct horse")
	var ce *CredentialsError
	var le *LockedError
	for i := 1; i <= 5; i++ {
		f.clock.Advance(time.Minute)
		_, err := f.s.Authenticate(f.ctx, "ann@example.org", "guess", fmt.Sprintf("192.0.2.%d", i))
		if i < 5 && !errors.As(err, &ce) {
			t.Fatalf("failure %d: %v", i, err)
		}
		if i == 5 && (!errors.As(err, &le) || le.Client || !le.Until.Equal(f.clock.Now().Add(15*time.Minute))) {
			t.Fatalf("failure 5: %v, want the account locked for 15 minutes", err)
		}
	}
	// Locked even with the right password, and from a fresh IP.
	f.clock.Advance(14 * time.Minute)
	if _, err := f.s.Authenticate(f.ctx, "ann@example.org", "correct horse", "198.51.100.9"); !errors.As(err, &le) || le.Client {
		t.Fatalf("locked account, right password: %v", err)
	}
	// The lock survives a restart (a new Store on the same database).
	s2, err := New(f.ctx, f.s.db, Options{Now: f.clock.Now, Params: cheap()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(f.ctx, "ann@example.org", "correct horse", "198.51.100.9"); !errors.As(err, &le) {
		t.Fatalf("after restart: %v", err)
	}
	// When the lock ends, the failures before it no longer count: one more
	// failure does not lock again.
	f.clock.Advance(time.Minute)
	if _, err := f.s.Authenticate(f.ctx, "ann@example.org", "guess", "198.51.100.9"); !errors.As(err, &ce) {
		t.Fatalf("first failure after lock: %v", err)
	}
	if _, err := f.s.Authenticate(f.ctx, "ann@example.org", "correct horse", "198.51.100.9"); err != nil {
		t.Fatalf("after lock: %v", err)
	}
	// A success forgets the account's failures.
	for range 4 {
		f.s.Authenticate(f.ctx, "ann@example.org", "guess", "198.51.100.10")
	}
	if _, err := f.s.Authenticate(f.ctx, "ann@example.org", "correct horse", "198.51.100.10"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Authenticate(f.ctx, "ann@example.org", "guess", "198.51.100.10"); !errors.As(err, &ce) {
		t.Fatalf("counter not reset by success: %v", err)
	}
	// Failures spread over more than the window never lock.
	f.add(t, "bob@example.org", "correct horse")
	for i := range 10 {
		f.clock.Advance(4 * time.Minute)
		if _, err := f.s.Authenticate(f.ctx, "bob@example.org", "guess", fmt.Sprintf("203.0.113.%d", i)); !errors.As(err, &ce) {
			t.Fatalf("slow failure %d: %v", i, err)
		}
	}
	// Unlock lifts a lock.
	for range 5 {
		f.s.Authenticate(f.ctx, "bob@example.org", "guess", "203.0.113.99")
	}
	if err := f.s.Unlock(f.ctx, "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Authenticate(f.ctx, "bob@example.org", "correct horse", "203.0.113.99"); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestUnknownAccountsLockToo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var le *LockedError
	var err error
	for i := range 5 {
		_, err = f.s.Authenticate(f.ctx, "ghost@example.org", "guess", fmt.Sprintf("192.0.2.%d", i))
	}
	if !errors.As(err, &le) || le.Client {
		t.Fatalf("unknown address after 5 failures: %v, want locked like a real one", err)
	}
}

func TestClientLockout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.add(t, "ann@example.org", "correct horse")
	var le *LockedError
	var err error
	for i := range 20 {
		_, err = f.s.Authenticate(f.ctx, fmt.Sprintf("user%d@example.org", i), "guess", "2001:db8:1:2::7")
	}
	if !errors.As(err, &le) || !le.Client {
		t.Fatalf("20 failures from one client: %v, want client locked", err)
	}
	// The same /64 is the same client; another IP is not.
	if _, err := f.s.Authenticate(f.ctx, "ann@example.org", "correct horse", "2001:db8:1:2::99"); !errors.As(err, &le) || !le.Client {
		t.Fatalf("same /64: %v", err)
	}
	if _, err := f.s.Authenticate(f.ctx, "ann@example.org", "correct horse", "2001:db8:1:3::1"); err != nil {
		t.Fatalf("other client: %v", err)
	}
	f.clock.Advance(15 * time.Minute)
	if _, err := f.s.Authenticate(f.ctx, "ann@example.org", "correct horse", "2001:db8:1:2::7"); err != nil {
		t.Fatalf("after the client lock: %v", err)
	}
	if err := f.s.Prune(f.ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"192.0.2.1": "192.0.2.1", "::ffff:192.0.2.1": "192.0.2.1",
		"2001:db8::1": "2001:db8::/64", "fe80::1%eth0": "fe80::/64", "": "", "junk": "junk"} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
