package stats

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/store"
)

// t0 is a fixed minute boundary: 2026-03-02 10:00:00 UTC.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }

func openDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "posthorn.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newStats(t testing.TB, opts Options) (*Stats, *sql.DB) {
	t.Helper()
	db := openDB(t)
	s, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func ev(kind maillog.Kind, svc string, at time.Time) maillog.Event {
	return maillog.Event{Kind: kind, Service: svc, Time: at, QueueID: "q"}
}

// stored returns the stored count of (minute of at, service, outcome).
func stored(t *testing.T, db *sql.DB, at time.Time, svc string, o Outcome) int {
	t.Helper()
	var n int
	err := db.QueryRow(`SELECT count FROM stats_counts WHERE minute = ? AND service = ? AND outcome = ?`,
		unixMinute(at), svc, string(o)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func rowCount(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var total int64
	for _, tb := range tables() {
		var n int64
		if err := db.QueryRow(`SELECT count(*) FROM ` + tb).Scan(&n); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

func TestRecordCountsOutcomes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	s, db := newStats(t, Options{Now: clk.now})
	log := maillog.New(nil, s)
	for range 3 {
		log.Record(ev(maillog.Accepted, "gerrit", t0.Add(10*time.Second)))
	}
	log.Record(ev(maillog.Deferred, "gerrit", t0.Add(20*time.Second)))
	log.Record(ev(maillog.Delivered, "gerrit", t0.Add(70*time.Second)))
	log.Record(ev(maillog.Bounced, "sentry", t0.Add(30*time.Second)))
	log.Record(ev(maillog.Rejected, "", t0.Add(40*time.Second)))
	log.Record(ev(maillog.Session, "gerrit", t0))                        // not counted
	log.Record(ev(maillog.Notice, "gerrit", t0))                         // not counted
	log.Record(maillog.Event{Kind: maillog.Accepted, Service: "sentry"}) // zero time: the log sets now
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   time.Time
		svc  string
		o    Outcome
		want int
	}{
		{t0, "gerrit", Accepted, 3},
		{t0, "gerrit", Deferred, 1},
		{t0.Add(time.Minute), "gerrit", Delivered, 1},
		{t0, "gerrit", Delivered, 0},
		{t0, "sentry", Bounced, 1},
		{t0, "unknown", Rejected, 1},
	} {
		if got := stored(t, db, c.at, c.svc, c.o); got != c.want {
			t.Errorf("%s %s %s = %d, want %d", c.at.Format("15:04"), c.svc, c.o, got, c.want)
		}
	}
	var other int
	if err := db.QueryRow(`SELECT count(*) FROM stats_counts WHERE outcome NOT IN ('accepted','delivered','deferred','bounced','rejected')`).Scan(&other); err != nil || other != 0 {
		t.Errorf("uncounted kinds stored: %d, %v", other, err)
	}
	d, f, b, err := s.Outcomes(ctx, t0)
	if err != nil || d != 1 || f != 1 || b != 1 {
		t.Errorf("Outcomes = %d, %d, %d, %v; want 1, 1, 1", d, f, b, err)
	}
}

func TestFlushIsIdempotentAndAdds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStats(t, Options{Now: newClock(t0).now})
	for range 5 {
		s.Record(ev(maillog.Accepted, "a", t0))
	}
	for range 3 {
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := stored(t, db, t0, "a", Accepted); got != 5 {
		t.Fatalf("after repeated flushes: %d, want 5", got)
	}
	s.Record(ev(maillog.Accepted, "a", t0.Add(30*time.Second)))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, db, t0, "a", Accepted); got != 6 {
		t.Fatalf("second flush of the same minute: %d, want 6 (added)", got)
	}
	if s.rows != rowCount(t, db) {
		t.Errorf("tracked rows %d, stored %d", s.rows, rowCount(t, db))
	}
}

func TestFailedFlushKeepsCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStats(t, Options{Now: newClock(t0).now})
	s.Record(ev(maillog.Accepted, "a", t0))
	// Make the write fail: a trigger that aborts inserts.
	if _, err := db.Exec(`CREATE TRIGGER fail BEFORE INSERT ON stats_counts BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	err := s.Flush(ctx)
	var se *Error
	if !errors.As(err, &se) || se.Op != "flush" {
		t.Fatalf("Flush = %v, want *Error{Op: flush}", err)
	}
	s.Record(ev(maillog.Accepted, "a", t0))
	if _, err := db.Exec(`DROP TRIGGER fail`); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, db, t0, "a", Accepted); got != 2 {
		t.Fatalf("stored %d after a failed then a good flush, want 2", got)
	}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock(t0)
	s, db := newStats(t, Options{Now: clk.now, Retention: time.Hour})
	s.Record(ev(maillog.Accepted, "a", t0))
	s.Record(ev(maillog.Accepted, "a", t0.Add(30*time.Minute)))
	if err := s.Sample(ctx, t0, 4, time.Minute, map[string]bool{"mx1": true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(time.Hour + 10*time.Minute))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if stored(t, db, t0, "a", Accepted) != 0 || stored(t, db, t0.Add(30*time.Minute), "a", Accepted) != 1 {
		t.Fatalf("retention: want the 10:00 row gone and the 10:30 row kept")
	}
	if n := rowCount(t, db); n != 1 || s.rows != 1 {
		t.Fatalf("rows stored %d, tracked %d; want 1 (gauges pruned too)", n, s.rows)
	}
}

func TestMaxRowsDropsOldestMinutes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStats(t, Options{Now: newClock(t0.Add(10 * time.Hour)).now, MaxRows: 10})
	// 4 rows per minute over 6 minutes, spread over more than one prune chunk.
	var minutes []time.Time
	for i := range 6 {
		m := t0.Add(time.Duration(i*37) * time.Minute)
		minutes = append(minutes, m)
		for _, svc := range []string{"a", "b"} {
			s.Record(ev(maillog.Accepted, svc, m))
			s.Record(ev(maillog.Delivered, svc, m))
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// 24 rows, bound 10: the 4 oldest minutes go (whole minutes), 8 stay.
	if n := rowCount(t, db); n != 8 || s.rows != 8 {
		t.Fatalf("rows stored %d, tracked %d; want 8", n, s.rows)
	}
	for i, m := range minutes {
		want := 0
		if i >= 4 {
			want = 1
		}
		if got := stored(t, db, m, "b", Delivered); got != want {
			t.Errorf("minute %d: %d, want %d", i, got, want)
		}
	}
	// Gauge rows count towards the bound as well.
	if err := s.Sample(ctx, t0.Add(9*time.Hour), 1, 0, map[string]bool{"mx1": true, "mx2": false}); err != nil {
		t.Fatal(err)
	}
	if n := rowCount(t, db); n != 7 || s.rows != 7 {
		t.Fatalf("after a sample: rows stored %d, tracked %d; want 7", n, s.rows)
	}
}

func TestRowCountSurvivesReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	s1, err := New(db, Options{Now: newClock(t0).now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		s1.Record(ev(maillog.Accepted, "a", t0.Add(time.Duration(i)*time.Minute)))
	}
	if err := s1.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s2, err := New(db, Options{Now: newClock(t0).now, MaxRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rowCount(t, db); n != 3 {
		t.Fatalf("rows %d after reopening with MaxRows 3", n)
	}
}

func TestSeriesBuckets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStats(t, Options{Now: newClock(t0).now})
	// 10:00..10:29, one accepted per minute for b, two for a at 10:07.
	for i := range 30 {
		s.Record(ev(maillog.Accepted, "b", t0.Add(time.Duration(i)*time.Minute)))
	}
	s.Record(ev(maillog.Accepted, "a", t0.Add(7*time.Minute)))
	s.Record(ev(maillog.Accepted, "a", t0.Add(7*time.Minute+59*time.Second)))
	s.Record(ev(maillog.Deferred, "a", t0.Add(16*time.Minute)))
	s.Record(ev(maillog.Accepted, "a", t0.Add(-time.Minute))) // before the range
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{0, 5 * time.Minute, 20 * time.Minute} {
		if err := s.Sample(ctx, t0.Add(at), int(at/time.Minute), at, map[string]bool{"mx1": at != 5*time.Minute, "mx2": true}); err != nil {
			t.Fatal(err)
		}
	}
	// from 10:03 rounds down to 10:00; to 10:29:30 is in the third bucket.
	sr, err := s.Series(ctx, t0.Add(3*time.Minute), t0.Add(29*time.Minute+30*time.Second), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !sr.Start.Equal(t0) || sr.Buckets != 3 || sr.Step != 10*time.Minute {
		t.Fatalf("start %v buckets %d step %v", sr.Start, sr.Buckets, sr.Step)
	}
	if len(sr.Services) != 2 || sr.Services[0].Service != "a" || sr.Services[1].Service != "b" {
		t.Fatalf("services %+v", sr.Services)
	}
	a, b := sr.Services[0], sr.Services[1]
	if got := a.Counts[Accepted]; got[0] != 2 || got[1] != 0 || got[2] != 0 {
		t.Errorf("a accepted %v, want [2 0 0]", got)
	}
	if got := a.Counts[Deferred]; got[1] != 1 || a.Totals[Deferred] != 1 {
		t.Errorf("a deferred %v", got)
	}
	if got := b.Counts[Accepted]; got[0] != 10 || got[1] != 10 || got[2] != 10 || b.Totals[Accepted] != 30 {
		t.Errorf("b accepted %v total %d", got, b.Totals[Accepted])
	}
	if sr.Total(Accepted, 0) != 12 {
		t.Errorf("total accepted bucket 0 = %d, want 12", sr.Total(Accepted, 0))
	}
	if q := sr.Queue[0]; q.Samples != 2 || q.QueueDepth != 5 || q.OldestAge != 5*time.Minute {
		t.Errorf("queue bucket 0 = %+v, want max of two samples", q)
	}
	if q := sr.Queue[1]; q.Samples != 0 {
		t.Errorf("queue bucket 1 = %+v, want no samples", q)
	}
	if len(sr.Upstreams) != 2 || sr.Upstreams[0].Upstream != "mx1" {
		t.Fatalf("upstreams %+v", sr.Upstreams)
	}
	mx1 := sr.Upstreams[0].Up
	if mx1[0] != 0.5 || !math.IsNaN(mx1[1]) || mx1[2] != 1 {
		t.Errorf("mx1 availability %v, want [0.5 NaN 1]", mx1)
	}
	// A one-minute step, as the hour view uses.
	sr, err = s.Series(ctx, t0, t0.Add(59*time.Minute), time.Minute)
	if err != nil || sr.Buckets != 60 || sr.Services[0].Counts[Accepted][7] != 2 {
		t.Fatalf("minute buckets: %v %+v", err, sr)
	}
}

func TestSampleLastWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStats(t, Options{Now: newClock(t0).now})
	if err := s.Sample(ctx, t0, 7, time.Hour, map[string]bool{"mx1": false, "mx2": true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sample(ctx, t0.Add(30*time.Second), 3, time.Second, map[string]bool{"mx1": true}); err != nil {
		t.Fatal(err)
	}
	sr, err := s.Series(ctx, t0, t0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if q := sr.Queue[0]; q.QueueDepth != 3 || q.OldestAge != time.Second || q.Samples != 1 {
		t.Errorf("queue %+v, want the later sample", q)
	}
	if len(sr.Upstreams) != 1 || sr.Upstreams[0].Up[0] != 1 {
		t.Errorf("upstreams %+v, want mx1 up only", sr.Upstreams)
	}
	if n := rowCount(t, db); n != 2 || s.rows != 2 {
		t.Errorf("rows %d tracked %d, want 2", n, s.rows)
	}
}

func TestServiceActivity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStats(t, Options{Now: newClock(t0).now})
	s.Record(ev(maillog.Accepted, "a", t0.Add(-2*time.Hour)))
	s.Record(ev(maillog.Accepted, "a", t0.Add(5*time.Minute+10*time.Second)))
	s.Record(ev(maillog.Accepted, "a", t0.Add(9*time.Minute)))
	s.Record(ev(maillog.Accepted, "a", t0.Add(9*time.Minute)))
	s.Record(ev(maillog.Delivered, "c", t0.Add(9*time.Minute))) // no submissions
	s.Record(ev(maillog.Accepted, "b", t0.Add(time.Minute)))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.ServiceActivity(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []ServiceActivity{
		{Service: "a", Messages: 3, First: t0.Add(5 * time.Minute), Last: t0.Add(9 * time.Minute)},
		{Service: "b", Messages: 1, First: t0.Add(time.Minute), Last: t0.Add(time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Service != w.Service || g.Messages != w.Messages || !g.First.Equal(w.First) || !g.Last.Equal(w.Last) {
			t.Errorf("[%d] = %+v, want %+v", i, g, w)
		}
	}
}

func TestConcurrentRecordDuringFlush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db := newStats(t, Options{Now: newClock(t0).now})
	const writers, each = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				s.Record(ev(maillog.Accepted, "svc", t0.Add(time.Duration(w*each+i)*time.Millisecond)))
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	flushes := 0
	for running := true; running && flushes < 10_000; flushes++ {
		select {
		case <-done:
			running = false
		default:
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, db, t0, "svc", Accepted); got != writers*each {
		t.Fatalf("stored %d after %d flushes, want %d", got, flushes, writers*each)
	}
}

func TestRunFlushesOnStop(t *testing.T) {
	t.Parallel()
	s, db := newStats(t, Options{Now: newClock(t0).now, FlushInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	s.Record(ev(maillog.Accepted, "a", t0))
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if got := stored(t, db, t0, "a", Accepted); got != 1 {
		t.Fatalf("stored %d after Run stopped, want 1 (final flush)", got)
	}
}

func TestRunFlushesPeriodically(t *testing.T) {
	t.Parallel()
	s, db := newStats(t, Options{Now: newClock(t0).now, FlushInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	s.Record(ev(maillog.Accepted, "a", t0))
	deadline := time.Now().Add(20 * time.Second)
	for stored(t, db, t0, "a", Accepted) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no periodic flush within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func BenchmarkRecord(b *testing.B) {
	s, _ := newStats(b, Options{})
	services := []string{"gerrit", "phabricator", "sentry", "jenkins"}
	kinds := []maillog.Kind{maillog.Accepted, maillog.Delivered, maillog.Deferred, maillog.Session}
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Record(maillog.Event{Kind: kinds[i%len(kinds)], Service: services[i%len(services)], Time: now, QueueID: "q"})
			i++
		}
	})
}
