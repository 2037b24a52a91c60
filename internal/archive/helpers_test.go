package archive

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/store"
)

func newTestArchive(t *testing.T) *Archive {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "archive.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	a, err := New(context.Background(), db, Options{Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// msg is a test post.
type msg struct {
	id, subject, from, irt, refs, body string
	date                               time.Time
}

func (m msg) raw() []byte {
	var b strings.Builder
	from := m.from
	if from == "" {
		from = "Ann Example <ann@example.org>"
	}
	fmt.Fprintf(&b, "From: %s\n", from)
	if m.id != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\n", m.id)
	}
	if m.irt != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\n", m.irt)
	}
	if m.refs != "" {
		fmt.Fprintf(&b, "References: %s\n", m.refs)
	}
	d := m.date
	if d.IsZero() {
		d = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	}
	fmt.Fprintf(&b, "Date: %s\nSubject: %s\n\n%s\n", d.Format(time.RFC1123Z), m.subject, m.body)
	return []byte(b.String())
}

func add(t *testing.T, a *Archive, list string, m msg) *Entry {
	t.Helper()
	e, _, err := a.Add(context.Background(), list, m.raw(), AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sliceSource is a Source over raw messages; offsets are cumulative sizes.
type sliceSource struct {
	msgs [][]byte
	i    int
	off  int64
}

func (s *sliceSource) Next() ([]byte, int64, time.Time, error) {
	if s.i >= len(s.msgs) {
		return nil, 0, time.Time{}, io.EOF
	}
	m := s.msgs[s.i]
	off := s.off
	s.i++
	s.off += int64(len(m))
	return m, off, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), nil
}

// seekTo makes the source start at the message with that offset.
func (s *sliceSource) seekTo(off int64) {
	s.i, s.off = 0, 0
	for s.i < len(s.msgs) && s.off < off {
		s.off += int64(len(s.msgs[s.i]))
		s.i++
	}
}

// numbers maps permalink to number for every row of list.
func numbers(t *testing.T, a *Archive, list string) map[string]int64 {
	t.Helper()
	rows, err := a.db.Query(`SELECT permalink, number FROM archive_messages WHERE list = ?`, list)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var p string
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			t.Fatal(err)
		}
		out[p] = n
	}
	return out
}

func sameNumbers(t *testing.T, what string, before, after map[string]int64) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("%s: %d posts before, %d after", what, len(before), len(after))
	}
	for p, n := range before {
		if after[p] != n {
			t.Errorf("%s: post %s was %d, is %d", what, p, n, after[p])
		}
	}
}
