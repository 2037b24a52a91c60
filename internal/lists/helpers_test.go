package lists

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/testutil"
)

const testList = "wikitech-l@lists.example.org"

type fixture struct {
	s     *Store
	clock *testutil.Clock
	chain *Chain
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "lists.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testutil.NewClock(time.Date(2026, 5, 19, 17, 0, 0, 0, time.UTC))
	s, err := New(context.Background(), db, Options{
		Secret: []byte("0123456789abcdef-test-secret"),
		Now:    clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, clock: clock, chain: NewChain(s, ChainOptions{})}
}

// newList creates testList with its default settings changed by edit.
func (f *fixture) newList(t testing.TB, edit func(*Settings)) *List {
	t.Helper()
	set := DefaultSettings("wikitech-l")
	if edit != nil {
		edit(&set)
	}
	l, err := f.s.CreateList(context.Background(), ListSpec{Address: testList, DisplayName: "Wikitech", Settings: &set})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *fixture) addMember(t testing.TB, addr string, role Role, mod *Action) {
	t.Helper()
	if _, err := f.s.AddMember(context.Background(), testList, NewMember{Address: addr, Role: role, Moderation: mod}); err != nil {
		t.Fatal(err)
	}
}

func act(a Action) *Action { return &a }

// post parses a message whose lines are joined with CRLF.
func post(t testing.TB, envFrom string, lines ...string) *Post {
	t.Helper()
	p, err := ReadPost(strings.NewReader(strings.Join(lines, "\r\n")), envFrom, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// memberPost is a well-formed post from ann@example.org to the list.
func memberPost(t testing.TB, extra ...string) *Post {
	lines := append([]string{
		"From: Ann <ann@example.org>",
		"To: " + testList,
		"Subject: Deploy tonight",
		"Message-ID: <m1@example.org>",
	}, extra...)
	lines = append(lines, "", "Hello all,", "the deploy is at 20:00.", "")
	return post(t, "ann@example.org", lines...)
}
