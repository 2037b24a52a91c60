package accounts

import (
	"errors"
	"testing"
	"time"
)

func TestReset(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.add(t, "ann@example.org", "correct horse")
	if tok, err := f.s.StartReset(f.ctx, "nobody@example.org"); tok != "" || err != nil {
		t.Fatalf("unknown address: %q %v, want no token and no error", tok, err)
	}
	sessTok, _, _ := f.s.NewSession(f.ctx, u.ID, "")
	for range 5 { // lock the account: the reset lifts it
		f.s.Authenticate(f.ctx, u.Email, "guess", "")
	}
	tok, err := f.s.StartReset(f.ctx, "ANN@example.org")
	if err != nil || len(tok) != 43 {
		t.Fatalf("%q %v", tok, err)
	}
	if got, err := f.s.CheckReset(f.ctx, tok); err != nil || got.ID != u.ID {
		t.Fatalf("check: %v", err)
	}
	var inv *InvalidError
	if _, err := f.s.FinishReset(f.ctx, tok, "short"); !errors.As(err, &inv) {
		t.Fatalf("short password: %v", err)
	}
	got, err := f.s.FinishReset(f.ctx, tok, "brand new horse")
	if err != nil || got.ID != u.ID {
		t.Fatalf("finish: %v", err)
	}
	var nf *NotFoundError
	if _, err := f.s.FinishReset(f.ctx, tok, "brand new horse 2"); !errors.As(err, &nf) {
		t.Fatalf("second use: %v", err)
	}
	if _, _, err := f.s.Session(f.ctx, sessTok); !errors.As(err, &nf) {
		t.Fatalf("session survived the reset: %v", err)
	}
	if _, err := f.s.Authenticate(f.ctx, u.Email, "brand new horse", ""); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	// Expiry.
	tok, _ = f.s.StartReset(f.ctx, u.Email)
	f.clock.Advance(time.Hour)
	if _, err := f.s.FinishReset(f.ctx, tok, "brand new horse 3"); !errors.As(err, &nf) {
		t.Fatalf("expired: %v", err)
	}
	// At most 3 per hour; the fourth is silently not issued.
	var toks []string
	for range 4 {
		tk, err := f.s.StartReset(f.ctx, u.Email)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tk)
	}
	if toks[2] == "" || toks[3] != "" {
		t.Fatalf("rate limit: %q", toks)
	}
	// Using one reset uses up the others.
	if _, err := f.s.FinishReset(f.ctx, toks[0], "brand new horse 4"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CheckReset(f.ctx, toks[1]); !errors.As(err, &nf) {
		t.Fatalf("sibling reset still valid: %v", err)
	}
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i, e := range []Entry{
		{Actor: "ann@example.org", Action: "login"},
		{Actor: "ann@example.org", Action: "held.approve", List: "Wikitech-L@lists.example.org", Target: "42", Detail: "ok"},
		{Actor: "bob@example.org", Action: "settings.change", List: "wikitech-l@lists.example.org"},
		{Actor: "bob@example.org", Action: "held.approve", List: "other@lists.example.org"},
	} {
		f.clock.Advance(time.Second)
		if err := f.s.Audit(f.ctx, e); err != nil {
			t.Fatal(i, err)
		}
	}
	if err := f.s.Audit(f.ctx, Entry{Actor: "x"}); err == nil {
		t.Error("entry without action accepted")
	}
	got, err := f.s.AuditLog(f.ctx, Filter{List: "wikitech-l@lists.example.org"})
	if err != nil || len(got) != 2 || got[0].Action != "settings.change" || got[1].Target != "42" || got[1].Detail != "ok" ||
		!got[1].At.Equal(time.Date(2025, 3, 1, 12, 0, 2, 0, time.UTC)) {
		t.Fatalf("by list: %v %+v", err, got)
	}
	got, _ = f.s.AuditLog(f.ctx, Filter{Actor: "ann@example.org", Limit: 1})
	if len(got) != 1 || got[0].Action != "held.approve" {
		t.Fatalf("by actor, limit 1: %+v", got)
	}
	got, _ = f.s.AuditLog(f.ctx, Filter{Actor: "ann@example.org", Before: got[0].ID})
	if len(got) != 1 || got[0].Action != "login" {
		t.Fatalf("next page: %+v", got)
	}
	got, _ = f.s.AuditLog(f.ctx, Filter{Action: "held.approve"})
	if len(got) != 2 {
		t.Fatalf("by action: %+v", got)
	}
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.add(t, "ann@example.org", "correct horse")
	if _, err := f.s.NewAPIToken(f.ctx, u.ID, " "); err == nil {
		t.Error("unnamed token accepted")
	}
	tok, err := f.s.NewAPIToken(f.ctx, u.ID, "nagios")
	if err != nil || len(tok) != len(APITokenPrefix)+43 {
		t.Fatalf("%q %v", tok, err)
	}
	got, err := f.s.APIToken(f.ctx, tok)
	if err != nil || got.ID != u.ID {
		t.Fatalf("lookup: %v", err)
	}
	var nf *NotFoundError
	for _, bad := range []string{"", "ph_", tok[:len(tok)-1], tok[len(APITokenPrefix):]} {
		if _, err := f.s.APIToken(f.ctx, bad); !errors.As(err, &nf) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	infos, err := f.s.APITokens(f.ctx, u.ID)
	if err != nil || len(infos) != 1 || infos[0].Name != "nagios" || infos[0].LastUsed.IsZero() || infos[0].Revoked {
		t.Fatalf("infos %v %+v", err, infos)
	}
	if err := f.s.RevokeAPIToken(f.ctx, u.ID+1, infos[0].ID); !errors.As(err, &nf) {
		t.Fatalf("revoke another user's token: %v", err)
	}
	if err := f.s.RevokeAPIToken(f.ctx, u.ID, infos[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.APIToken(f.ctx, tok); !errors.As(err, &nf) {
		t.Fatalf("revoked: %v", err)
	}
}
