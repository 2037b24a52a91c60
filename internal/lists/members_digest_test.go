package lists

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/store"
)

func TestDigestFormat(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	for _, c := range []struct {
		addr   string
		format DigestFormat
		want   DigestFormat
		bad    bool
	}{
		{"ann@example.org", "", DigestMIME, false},
		{"bob@example.org", DigestPlain, DigestPlain, false},
		{"carol@example.org", DigestMIME, DigestMIME, false},
		{"dave@example.org", "rfc1153", "", true},
	} {
		m, err := f.s.AddMember(ctx, testList, NewMember{Address: c.addr, Mode: ModeDigest, DigestFormat: c.format})
		var inv *InvalidError
		if c.bad {
			if !errors.As(err, &inv) || inv.Field != "digest_format" {
				t.Errorf("%s: %v, want an invalid digest_format", c.addr, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.DigestFormat != c.want || m.Mode != ModeDigest {
			t.Errorf("%s: %s/%s, want digest/%s", c.addr, m.Mode, m.DigestFormat, c.want)
		}
	}
	if err := f.s.SetDigestFormat(ctx, testList, "ann@example.org", DigestPlain); err != nil {
		t.Fatal(err)
	}
	page, err := f.s.Members(ctx, testList, MemberQuery{Role: RoleMember, Mode: ModeDigest})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]DigestFormat{}
	for _, m := range page.Members {
		got[m.Address] = m.DigestFormat
	}
	if got["ann@example.org"] != DigestPlain || got["bob@example.org"] != DigestPlain || got["carol@example.org"] != DigestMIME {
		t.Errorf("formats %v", got)
	}
	// Prefix search reads the same columns.
	page, err = f.s.Members(ctx, testList, MemberQuery{Prefix: "bo"})
	if err != nil || len(page.Members) != 1 || page.Members[0].DigestFormat != DigestPlain {
		t.Fatalf("prefix: %+v, %v", page.Members, err)
	}
	var inv *InvalidError
	if err := f.s.SetDigestFormat(ctx, testList, "ann@example.org", "html"); !errors.As(err, &inv) {
		t.Errorf("bad format: %v", err)
	}
	var nf *NotFoundError
	if err := f.s.SetDigestFormat(ctx, testList, "nobody@example.org", DigestPlain); !errors.As(err, &nf) {
		t.Errorf("stranger: %v", err)
	}
	for in, want := range map[string]DigestFormat{"MIME": DigestMIME, " plain ": DigestPlain} {
		if f, err := ParseDigestFormat(in); err != nil || f != want {
			t.Errorf("ParseDigestFormat(%q) = %s, %v", in, f, err)
		}
	}
	if _, err := ParseDigestFormat("text"); err == nil {
		t.Error("ParseDigestFormat accepted text")
	}
}

// TestDigestFormatMigration opens a database made before the digest_format
// column: its digest members keep their mode and get MIME digests.
func TestDigestFormatMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "old.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	steps := migrations()
	if err := store.Migrate(ctx, db, "lists", steps[:len(steps)-1]); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 19, 17, 0, 0, 0, time.UTC).UnixNano()
	if _, err := db.ExecContext(ctx, `INSERT INTO lists (id, name, domain, settings, created) VALUES (1, 'wikitech-l', 'lists.example.org', '{}', ?)`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO members (list_id, address, addr_key, role, created, mode)
		VALUES (1, 'ann@example.org', 'ann@example.org', 'member', ?, 'digest'), (1, 'bob@example.org', 'bob@example.org', 'member', ?, 'regular')`,
		now, now); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, db, Options{Secret: []byte("0123456789abcdef-test-secret")})
	if err != nil {
		t.Fatal(err)
	}
	for addr, mode := range map[string]DeliveryMode{"ann@example.org": ModeDigest, "bob@example.org": ModeRegular} {
		m, err := s.GetMember(ctx, testList, addr, RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		if m.Mode != mode || m.DigestFormat != DigestMIME {
			t.Errorf("%s after the migration: %s/%s", addr, m.Mode, m.DigestFormat)
		}
	}
}
