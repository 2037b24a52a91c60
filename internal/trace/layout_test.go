package trace

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/store"
)

// A trace.db written by the first layout (one row per event) opens: its
// events are dropped, and the store works on the new layout.
func TestOpensFirstLayoutDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trace.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := store.Migrate(ctx, db, "trace", migrations[:8]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO events (time, kind, queue_id, sender) VALUES (?, 'accepted', ?, 'a@b')`,
		t0.UnixNano(), qid2); err != nil {
		t.Fatal(err)
	}
	st, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name LIKE 'events%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d tables and indexes of the first layout left (%v)", n, err)
	}
	history(st, qid1, notice1, t0)
	flush(t, st)
	if ms := lookup(t, st.Reader, Query{QueueID: qid1}); len(ms) != 1 || len(ms[0].Events) != 8 {
		t.Fatalf("after migration: %+v", ms)
	}
	if ms := lookup(t, st.Reader, Query{QueueID: qid2}); len(ms) != 0 {
		t.Fatalf("a first-layout event is still found: %+v", ms)
	}
	// Reopening applies nothing twice and continues the ids.
	st.Close()
	st2, err := New(db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	history(st2, qid2, "", t0.Add(time.Hour))
	flush(t, st2)
	ms := lookup(t, st2.Reader, Query{Address: "review@example.org"})
	if len(ms) != 2 || ms[0].Events[0].ID >= ms[1].Events[0].ID {
		t.Fatalf("after reopening: %+v", ms)
	}
}

// One queue id's events beyond maxSegmentEvents in one write are split
// into several segments, and all come back in order.
func TestLargeMessageSplitsIntoSegments(t *testing.T) {
	t.Parallel()
	st, _ := openTest(t, Options{})
	const n = maxSegmentEvents + 10
	st.Record(maillog.Event{Kind: maillog.Accepted, Time: t0, QueueID: qid1, From: "list@x", Rcpts: n - 1})
	for i := 1; i < n; i++ {
		st.Record(maillog.Event{Kind: maillog.Delivered, Time: t0.Add(time.Duration(i) * time.Millisecond), QueueID: qid1,
			Rcpt: "member@x", Reply: "250 ok"})
	}
	flush(t, st)
	var segs int
	st.db.QueryRow(`SELECT count(*) FROM segments WHERE queue_id = ?`, qid1).Scan(&segs)
	if segs != 2 {
		t.Fatalf("%d segments, want 2", segs)
	}
	ms := lookup(t, st.Reader, Query{QueueID: qid1})
	if len(ms) != 1 || len(ms[0].Events) != n {
		t.Fatalf("%d messages, %d events", len(ms), len(ms[0].Events))
	}
	for i := 1; i < n; i++ {
		if ms[0].Events[i].ID <= ms[0].Events[i-1].ID || ms[0].Events[i].Time.Before(ms[0].Events[i-1].Time) {
			t.Fatalf("events %d and %d out of order", i-1, i)
		}
	}
	// The recipient is one row per segment, not one per event.
	var rcpts int
	st.db.QueryRow(`SELECT count(*) FROM rcpts WHERE addr = 'member@x'`).Scan(&rcpts)
	if rcpts != 2 {
		t.Fatalf("%d recipient rows, want 2", rcpts)
	}
}

// A failed write loses its batch (counted) but not the store's numbering:
// the next write continues from the last one that committed.
func TestFailedWriteKeepsNumbering(t *testing.T) {
	t.Parallel()
	st, _ := openTest(t, Options{})
	writeMessages(t, st, 3, 3, t0)
	st.Record(maillog.Event{Kind: maillog.Accepted, Time: t0, QueueID: qid2, From: "a@b"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Flush(ctx); err == nil {
		t.Fatal("a write with a cancelled context succeeded")
	}
	if d := st.Dropped(); d != 1 {
		t.Fatalf("Dropped = %d, want 1", d)
	}
	writeMessages(t, st, 2, 2, t0.Add(time.Hour))
	var segs, hi, upto int64
	if err := st.db.QueryRow(`SELECT count(*), max(id), max(upto) FROM segments`).Scan(&segs, &hi, &upto); err != nil {
		t.Fatal(err)
	}
	if segs != 5 || hi != 5 || upto != 15 || count(t, st.db) != 15 {
		t.Fatalf("%d segments up to id %d, upto %d; want 5, 5, 15", segs, hi, upto)
	}
}
