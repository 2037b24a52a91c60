package accounts

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.add(t, "ann@example.org", "correct horse")
	tok, sess, err := f.s.NewSession(f.ctx, u.ID, "192.0.2.1")
	if err != nil || len(tok) != 43 || len(sess.CSRFSecret) != 32 || !sess.Expires.Equal(f.clock.Now().Add(12*time.Hour)) {
		t.Fatalf("%q %+v %v", tok, sess, err)
	}
	// Only the hash is stored.
	var n int
	if err := f.s.db.QueryRow(`SELECT count(*) FROM sessions WHERE token_hash = ? OR CAST(token_hash AS TEXT) = ?`, tok, tok).Scan(&n); err != nil || n != 0 {
		t.Fatalf("token stored in clear: %d %v", n, err)
	}
	tok2, _, _ := f.s.NewSession(f.ctx, u.ID, "192.0.2.2")
	if tok2 == tok {
		t.Fatal("same token twice")
	}
	var nf *NotFoundError
	// Used every 11 hours, a session lives until its absolute limit (7 days).
	for i := 0; i < 15; i++ {
		f.clock.Advance(11 * time.Hour)
		gu, gs, err := f.s.Session(f.ctx, tok)
		if err != nil || gu.ID != u.ID || !bytes.Equal(gs.CSRFSecret, sess.CSRFSecret) {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	f.clock.Advance(11 * time.Hour) // 176h > 168h
	if _, _, err := f.s.Session(f.ctx, tok); !errors.As(err, &nf) {
		t.Fatalf("past 7 days: %v", err)
	}
	// tok2 was never used: idle for far longer than 12h.
	if _, _, err := f.s.Session(f.ctx, tok2); !errors.As(err, &nf) {
		t.Fatalf("idle: %v", err)
	}
	if _, _, err := f.s.Session(f.ctx, "bogus"); !errors.As(err, &nf) {
		t.Fatalf("bogus: %v", err)
	}

	a, _, _ := f.s.NewSession(f.ctx, u.ID, "")
	b, _, _ := f.s.NewSession(f.ctx, u.ID, "")
	if err := f.s.EndSession(f.ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Session(f.ctx, a); !errors.As(err, &nf) {
		t.Fatalf("ended: %v", err)
	}
	if _, _, err := f.s.Session(f.ctx, b); err != nil {
		t.Fatalf("other session ended too: %v", err)
	}
	// A password change ends every session.
	if err := f.s.SetPassword(f.ctx, u.Email, "new password!"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Session(f.ctx, b); !errors.As(err, &nf) {
		t.Fatalf("after password change: %v", err)
	}
	if _, err := f.s.Authenticate(f.ctx, u.Email, "new password!", ""); err != nil {
		t.Fatal(err)
	}
	// Disabling the user ends them too.
	c, _, _ := f.s.NewSession(f.ctx, u.ID, "")
	if err := f.s.SetDisabled(f.ctx, u.Email, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.Session(f.ctx, c); !errors.As(err, &nf) {
		t.Fatalf("disabled user: %v", err)
	}
}
