package accounts

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestChangePassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.add(t, "ann@example.org", "correct horse")
	other := f.add(t, "bob@example.org", "battery staple")
	keep, _, _ := f.s.NewSession(f.ctx, u.ID, "")
	gone1, _, _ := f.s.NewSession(f.ctx, u.ID, "")
	gone2, _, _ := f.s.NewSession(f.ctx, u.ID, "")
	bobs, _, _ := f.s.NewSession(f.ctx, other.ID, "")
	reset, err := f.s.StartReset(f.ctx, u.Email)
	if err != nil || reset == "" {
		t.Fatal(reset, err)
	}

	var inv *InvalidError
	var ce *CredentialsError
	var nf *NotFoundError
	// A new password that breaks the rules is refused before anything is
	// checked or counted.
	if _, err := f.s.ChangePassword(f.ctx, u.ID, "correct horse", "short", keep); !errors.As(err, &inv) {
		t.Fatalf("short: %v", err)
	}
	if _, err := f.s.ChangePassword(f.ctx, u.ID, "wrong", "a new long password", keep); !errors.As(err, &ce) {
		t.Fatalf("wrong current: %v", err)
	}
	if _, err := f.s.ChangePassword(f.ctx, u.ID+100, "correct horse", "a new long password", keep); !errors.As(err, &nf) {
		t.Fatalf("no such user: %v", err)
	}
	// Nothing changed so far.
	if _, err := f.s.Authenticate(f.ctx, u.Email, "correct horse", ""); err != nil {
		t.Fatalf("old password after refused changes: %v", err)
	}
	for _, tok := range []string{keep, gone1, gone2} {
		if _, _, err := f.s.Session(f.ctx, tok); err != nil {
			t.Fatalf("session ended by a refused change: %v", err)
		}
	}

	n, err := f.s.ChangePassword(f.ctx, u.ID, "correct horse", "a new long password", keep)
	if err != nil || n != 2 {
		t.Fatalf("change: %d %v", n, err)
	}
	if _, err := f.s.Authenticate(f.ctx, u.Email, "correct horse", ""); !errors.As(err, &ce) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, err := f.s.Authenticate(f.ctx, u.Email, "a new long password", ""); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, _, err := f.s.Session(f.ctx, keep); err != nil {
		t.Fatalf("kept session ended: %v", err)
	}
	for _, tok := range []string{gone1, gone2} {
		if _, _, err := f.s.Session(f.ctx, tok); !errors.As(err, &nf) {
			t.Fatalf("other session still open: %v", err)
		}
	}
	if _, _, err := f.s.Session(f.ctx, bobs); err != nil {
		t.Fatalf("another user's session ended: %v", err)
	}
	// An outstanding reset link no longer works.
	if _, err := f.s.CheckReset(f.ctx, reset); !errors.As(err, &nf) {
		t.Fatalf("reset link after a change: %v", err)
	}
	got, _ := f.s.GetByID(f.ctx, u.ID)
	if !got.PasswordChanged.Equal(f.clock.Now()) {
		t.Fatalf("password_changed %v", got.PasswordChanged)
	}
	// keepSession "" ends them all.
	if n, err := f.s.ChangePassword(f.ctx, u.ID, "a new long password", "yet another password", ""); err != nil || n != 1 {
		t.Fatalf("change ending all: %d %v", n, err)
	}
}

func TestChangePasswordLocks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.add(t, "ann@example.org", "correct horse")
	var ce *CredentialsError
	var le *LockedError
	for i := 1; i < 5; i++ {
		if _, err := f.s.ChangePassword(f.ctx, u.ID, "guess", "a new long password", ""); !errors.As(err, &ce) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	// The fifth wrong guess locks the account, for the login page too.
	if _, err := f.s.ChangePassword(f.ctx, u.ID, "guess", "a new long password", ""); !errors.As(err, &le) || le.Client {
		t.Fatalf("fifth guess: %v", err)
	}
	if _, err := f.s.ChangePassword(f.ctx, u.ID, "correct horse", "a new long password", ""); !errors.As(err, &le) {
		t.Fatalf("right password while locked: %v", err)
	}
	if _, err := f.s.Authenticate(f.ctx, u.Email, "correct horse", ""); !errors.As(err, &le) {
		t.Fatalf("login while locked: %v", err)
	}
	f.clock.Advance(16 * time.Minute)
	if _, err := f.s.ChangePassword(f.ctx, u.ID, "correct horse", "a new long password", ""); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
}

func TestEndOtherSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.add(t, "ann@example.org", "correct horse")
	a, _, _ := f.s.NewSession(f.ctx, u.ID, "")
	b, _, _ := f.s.NewSession(f.ctx, u.ID, "")
	if n, err := f.s.EndOtherSessions(f.ctx, u.ID, a); err != nil || n != 1 {
		t.Fatalf("%d %v", n, err)
	}
	var nf *NotFoundError
	if _, _, err := f.s.Session(f.ctx, b); !errors.As(err, &nf) {
		t.Fatalf("b: %v", err)
	}
	if _, _, err := f.s.Session(f.ctx, a); err != nil {
		t.Fatalf("a: %v", err)
	}
}

func TestCreateAPIToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.add(t, "ann@example.org", "correct horse")
	var inv *InvalidError
	if _, _, err := f.s.CreateAPIToken(f.ctx, u.ID, strings.Repeat("x", MaxTokenName+1)); !errors.As(err, &inv) {
		t.Fatalf("long name: %v", err)
	}
	tok, info, err := f.s.CreateAPIToken(f.ctx, u.ID, " deploy bot ")
	if err != nil || !strings.HasPrefix(tok, APITokenPrefix) || info.Name != "deploy bot" || info.UserID != u.ID || info.ID == 0 ||
		!info.Created.Equal(f.clock.Now()) {
		t.Fatalf("%q %+v %v", tok, info, err)
	}
	infos, err := f.s.APITokens(f.ctx, u.ID)
	if err != nil || len(infos) != 1 || infos[0].ID != info.ID || infos[0].Name != info.Name || !infos[0].Created.Equal(info.Created) {
		t.Fatalf("%+v %v", infos, err)
	}
	// Only the hash is stored.
	var n int
	if err := f.s.db.QueryRow(`SELECT count(*) FROM api_tokens WHERE CAST(token_hash AS TEXT) = ? OR name = ?`, tok, tok).Scan(&n); err != nil || n != 0 {
		t.Fatalf("token stored in clear: %d %v", n, err)
	}
}
