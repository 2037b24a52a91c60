package accounts

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/testutil"
)

// cheap are argon2 parameters that keep the tests fast; the real cost is
// measured by BenchmarkHash.
func cheap() Params { return Params{Memory: 64, Time: 1, Threads: 1} }

type fixture struct {
	s     *Store
	clock *testutil.Clock
	ctx   context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "posthorn.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testutil.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	s, err := New(ctx, db, Options{Now: clock.Now, Params: cheap()})
	if err != nil {
		t.Fatal(err)
	}
	// New is idempotent on an existing database.
	if _, err := New(ctx, db, Options{Now: clock.Now, Params: cheap()}); err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, clock: clock, ctx: ctx}
}

func (f *fixture) add(t *testing.T, email, pw string) *User {
	t.Helper()
	u, err := f.s.Add(f.ctx, NewUser{Email: email, Name: "Ann", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.add(t, " Ann@Example.ORG ", "correct horse")
	if u.Email != "ann@example.org" || u.Name != "Ann" || u.SiteAdmin || u.Disabled || !u.Created.Equal(f.clock.Now()) {
		t.Fatalf("user %+v", u)
	}
	var ex *ExistsError
	if _, err := f.s.Add(f.ctx, NewUser{Email: "ANN@example.org", Password: "correct horse"}); !errors.As(err, &ex) {
		t.Fatalf("duplicate: %v", err)
	}
	var inv *InvalidError
	for _, bad := range []NewUser{{Email: "ann", Password: "correct horse"}, {Email: "Ann <b@example.org>", Password: "correct horse"},
		{Email: "bob@example.org", Password: "short"}} {
		if _, err := f.s.Add(f.ctx, bad); !errors.As(err, &inv) {
			t.Errorf("%+v: %v, want InvalidError", bad, err)
		}
	}
	if err := f.s.SetSiteAdmin(f.ctx, "ANN@example.org", true); err != nil {
		t.Fatal(err)
	}
	f.add(t, "bob@example.org", "another password")
	all, err := f.s.List(f.ctx)
	if err != nil || len(all) != 2 || all[0].Email != "ann@example.org" || !all[0].SiteAdmin || all[1].SiteAdmin {
		t.Fatalf("list %v %+v", err, all)
	}
	var nf *NotFoundError
	if _, err := f.s.Get(f.ctx, "carol@example.org"); !errors.As(err, &nf) {
		t.Fatalf("get unknown: %v", err)
	}
	if err := f.s.SetSiteAdmin(f.ctx, "carol@example.org", true); !errors.As(err, &nf) {
		t.Fatalf("grant unknown: %v", err)
	}
}

func TestPasswordHashFormat(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, err := f.s.hash(f.ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	p, salt, key, err := decodeHash(h)
	if err != nil || p != cheap() || len(salt) != saltLen || len(key) != keyLen {
		t.Fatalf("%s: %+v %v", h, p, err)
	}
	h2, _ := f.s.hash(f.ctx, "correct horse")
	if h == h2 {
		t.Error("same hash twice: salt not random")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsE": false, "": false} {
		if ok, err := f.s.verify(f.ctx, h, pw); ok != want || err != nil {
			t.Errorf("verify %q = %v, %v", pw, ok, err)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		if ok, err := f.s.verify(f.ctx, bad, "x"); ok || err == nil {
			t.Errorf("verify against %q = %v, %v", bad, ok, err)
		}
	}
}

// BenchmarkHash measures the cost of one password hash with DefaultParams.
func BenchmarkHash(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "posthorn.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := New(context.Background(), db, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.hash(context.Background(), "correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
}
