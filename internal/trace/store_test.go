package trace

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func openTest(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trace.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func flush(t testing.TB, st *Store) {
	t.Helper()
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// count is the number of events stored.
func count(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT coalesce(sum(n), 0) FROM segments`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// countQueue is the number of events stored for queue id qid.
func countQueue(t testing.TB, db *sql.DB, qid string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT coalesce(sum(n), 0) FROM segments WHERE queue_id = ?`, qid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// history records a message's life: accepted, deferred for b, delivered to
// a, bounced for b with a notice whose own delivery is recorded, removed.
func history(st maillog.Sink, qid, noticeID string, at time.Time) {
	ev := func(k maillog.Kind, d time.Duration, f func(*maillog.Event)) {
		e := maillog.Event{Kind: k, Time: at.Add(d), QueueID: qid, MessageID: "<" + qid + "@example.org>",
			Service: "gerrit", From: "Review@Example.org"}
		if f != nil {
			f(&e)
		}
		st.Record(e)
	}
	ev(maillog.Accepted, 0, func(e *maillog.Event) { e.Client, e.Rcpts, e.Size = "10.0.0.5", 2, 1234 })
	ev(maillog.Deferred, time.Second, func(e *maillog.Event) {
		e.Rcpt, e.Upstream, e.Reply, e.Attempts, e.Next = "bob@far.example", "mx1:25", "451 4.7.1 later", 1, at.Add(time.Minute)
	})
	ev(maillog.Delivered, 2*time.Second, func(e *maillog.Event) {
		e.Rcpt, e.Upstream, e.Reply, e.Attempts, e.Delay = "alice@near.example", "mx1:25", "250 2.0.0 ok", 1, 2*time.Second
	})
	ev(maillog.Bounced, time.Minute, func(e *maillog.Event) {
		e.Rcpt, e.Upstream, e.Reply, e.Attempts = "bob@far.example", "mx2:25", "550 5.1.1 no such user", 2
	})
	ev(maillog.Notice, time.Minute+time.Millisecond, func(e *maillog.Event) {
		e.Action, e.NoticeID, e.Rcpt = "bounce", noticeID, "Review@Example.org"
	})
	ev(maillog.Removed, time.Minute+2*time.Millisecond, func(e *maillog.Event) { e.Reply = "done" })
	if noticeID == "" {
		return
	}
	st.Record(maillog.Event{Kind: maillog.Delivered, Time: at.Add(time.Minute + time.Second), QueueID: noticeID,
		Service: "posthorn", Rcpt: "review@example.org", Upstream: "mx9:25", Reply: "250 ok"})
	st.Record(maillog.Event{Kind: maillog.Removed, Time: at.Add(time.Minute + 2*time.Second), QueueID: noticeID,
		Service: "posthorn", Reply: "done"})
}

func TestRecordSkipsSessionAndAnonymousEvents(t *testing.T) {
	t.Parallel()
	st, _ := openTest(t, Options{})
	st.Record(maillog.Event{Kind: maillog.Session, Client: "10.0.0.1", Service: "x"})
	st.Record(maillog.Event{Kind: maillog.Rejected, Client: "10.0.0.1", Stage: "connect", Reply: "too many"})
	st.Record(maillog.Event{Kind: maillog.Rejected, Client: "10.0.0.1", From: "a@b", Stage: "rcpt", Reply: "relay denied"})
	flush(t, st)
	if n := count(t, st.db); n != 1 {
		t.Fatalf("%d events stored, want only the rejection with a sender", n)
	}
}

func TestBufferFullDropsWithoutBlocking(t *testing.T) {
	t.Parallel()
	st, _ := openTest(t, Options{Buffer: 10})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 25 {
			st.Record(maillog.Event{Kind: maillog.Accepted, QueueID: "q", From: "a@b", Time: t0.Add(time.Duration(i))})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked with nobody writing")
	}
	if d := st.Dropped(); d != 15 {
		t.Fatalf("Dropped = %d, want 15", d)
	}
	flush(t, st)
	if n := count(t, st.db); n != 10 {
		t.Fatalf("%d events stored, want the 10 buffered", n)
	}
	// Room again after a write.
	st.Record(maillog.Event{Kind: maillog.Removed, QueueID: "q", From: "a@b"})
	flush(t, st)
	if n, d := count(t, st.db), st.Dropped(); n != 11 || d != 15 {
		t.Fatalf("after flush: %d stored, %d dropped; want 11, 15", n, d)
	}
}

func TestRunWritesAndDrainsOnCancel(t *testing.T) {
	t.Parallel()
	st, path := openTest(t, Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { st.Run(ctx); close(stopped) }()
	history(st, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1", t0)
	cancel()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	ro, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if n := count(t, ro); n != 8 {
		t.Fatalf("%d events after Run drained, want 8", n)
	}
}

func TestPruneRetention(t *testing.T) {
	t.Parallel()
	clk := &clock{t: t0}
	st, _ := openTest(t, Options{Retention: time.Hour, Now: clk.Now})
	for i := range 50 {
		st.Record(maillog.Event{Kind: maillog.Accepted, QueueID: "old", From: "a@b", Time: t0.Add(time.Duration(i) * time.Second)})
	}
	for i := range 30 {
		st.Record(maillog.Event{Kind: maillog.Accepted, QueueID: "new", From: "a@b", Time: t0.Add(2*time.Hour + time.Duration(i)*time.Second)})
	}
	flush(t, st)
	clk.Set(t0.Add(2*time.Hour + 30*time.Minute))
	if err := st.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if old, young := countQueue(t, st.db, "old"), countQueue(t, st.db, "new"); old != 0 || young != 30 {
		t.Fatalf("after prune: %d old, %d young; want 0, 30", old, young)
	}
	clk.Set(t0.Add(10 * time.Hour))
	if err := st.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st.db); n != 0 {
		t.Fatalf("%d events left past retention", n)
	}
}

// writeMessages writes n messages of three events each (accepted,
// delivered to a recipient, removed) in writes of per messages; message i
// has queue id msgQID(i) and recipient rcpt-i@example.org.
func writeMessages(t testing.TB, st *Store, n, per int, at time.Time) {
	t.Helper()
	var batch []maillog.Event
	for i := range n {
		base := maillog.Event{QueueID: msgQID(i), From: "a@b", Service: "svc"}
		for k, kind := range []maillog.Kind{maillog.Accepted, maillog.Delivered, maillog.Removed} {
			e := base
			e.Kind, e.Time = kind, at.Add(time.Duration(3*i+k)*time.Millisecond)
			if kind == maillog.Delivered {
				e.Rcpt = fmt.Sprintf("rcpt-%d@example.org", i)
			}
			batch = append(batch, e)
		}
		if (i+1)%per == 0 || i == n-1 {
			st.writeMu.Lock()
			err := st.write(context.Background(), batch)
			st.writeMu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

func msgQID(i int) string { return fmt.Sprintf("%032x", i+1) }

// orphans is the number of rcpts rows whose segment is gone.
func orphans(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM rcpts WHERE segment NOT IN (SELECT id FROM segments)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPruneMaxEventsInChunks(t *testing.T) {
	t.Parallel()
	st, _ := openTest(t, Options{MaxEvents: 1000})
	st.chunk = 40    // segments per prune transaction: several must go
	const msgs = 600 // 1,800 events in 12 writes
	writeMessages(t, st, msgs, 50, time.Now())
	if err := st.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Whole messages go, oldest first, until at most 1000 events are left:
	// 333 messages (999 events) from message 267 on.
	if n := count(t, st.db); n != 999 {
		t.Fatalf("kept %d events, want 999", n)
	}
	if n := countQueue(t, st.db, msgQID(266)); n != 0 {
		t.Fatalf("message 266 kept %d events", n)
	}
	if n := countQueue(t, st.db, msgQID(267)); n != 3 {
		t.Fatalf("message 267 kept %d events, want 3", n)
	}
	var rcpts int
	st.db.QueryRow(`SELECT count(*) FROM rcpts`).Scan(&rcpts)
	if o := orphans(t, st.db); o != 0 || rcpts != 333 {
		t.Fatalf("%d recipients left, %d of them orphans; want 333, 0", rcpts, o)
	}
	ms := lookup(t, st.Reader, Query{Address: "rcpt-266@example.org"})
	if len(ms) != 0 {
		t.Fatalf("a pruned recipient still finds %d messages", len(ms))
	}
	ms = lookup(t, st.Reader, Query{Address: "rcpt-267@example.org"})
	if len(ms) != 1 || kinds(ms[0]) != "accepted,delivered,removed" {
		t.Fatalf("a kept recipient: %+v", ms)
	}
	// More writes: the bound holds, the running count goes on.
	writeMessages(t, st, 10, 10, time.Now())
	if err := st.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st.db); n > 1000 || n < 1000-3 {
		t.Fatalf("after more writes: %d events, want 998 to 1000", n)
	}
}

func TestPruneRetentionWithRecipients(t *testing.T) {
	t.Parallel()
	clk := &clock{t: t0}
	st, _ := openTest(t, Options{Retention: time.Hour, Now: clk.Now})
	st.chunk = 7
	writeMessages(t, st, 40, 8, t0)                  // old: 5 writes
	writeMessages(t, st, 20, 8, t0.Add(2*time.Hour)) // young: same queue ids 0..19
	clk.Set(t0.Add(2*time.Hour + 30*time.Minute))
	if err := st.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st.db); n != 60 {
		t.Fatalf("%d events left, want the young 60", n)
	}
	if o := orphans(t, st.db); o != 0 {
		t.Fatalf("%d orphan recipients", o)
	}
	// A message with segments on both sides of the cutoff keeps the young one.
	ms := lookup(t, st.Reader, Query{QueueID: msgQID(3)})
	if len(ms) != 1 || len(ms[0].Events) != 3 || !ms[0].First.After(t0.Add(time.Hour)) {
		t.Fatalf("message 3: %+v", ms)
	}
	if ms := lookup(t, st.Reader, Query{QueueID: msgQID(30)}); len(ms) != 0 {
		t.Fatalf("an old message is still found: %+v", ms)
	}
	if ms := lookup(t, st.Reader, Query{Address: "rcpt-3@example.org", To: t0.Add(time.Hour)}); len(ms) != 0 {
		t.Fatalf("a pruned recipient row still finds %+v", ms)
	}
}

func TestRunWritesWhileRunning(t *testing.T) {
	t.Parallel()
	st, _ := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { st.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	history(st, qid1, notice1, t0)
	deadline := time.Now().Add(10 * time.Second)
	for count(t, st.db) < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("Run wrote %d of 8 events in 10s", count(t, st.db))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
