package trace

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/store"
)

// The lookup benchmarks share one store of 2,000,000 events, built on first
// use and removed by TestMain.
const (
	fixtureEvents    = 2_000_000
	fixtureMessages  = 400_000
	fixtureAddresses = 2_000
	fixtureSpan      = 14 * 24 * time.Hour // the default retention
)

type fixture struct {
	once     sync.Once
	dir      string
	st       *Store
	err      error
	start    time.Time
	queueIDs []string // samples of what exists
	msgIDs   []string
	addrs    []string
}

// bigFixture is the shared benchmark store; test-only state, built once.
var bigFixture fixture

func TestMain(m *testing.M) {
	code := m.Run()
	if bigFixture.st != nil {
		bigFixture.st.Close()
		bigFixture.st.db.Close()
	}
	if bigFixture.dir != "" {
		os.RemoveAll(bigFixture.dir)
	}
	os.Exit(code)
}

func loadFixture(b *testing.B) *fixture {
	if testing.Short() {
		b.Skip("2,000,000-event fixture skipped in -short mode")
	}
	f := &bigFixture
	f.once.Do(func() { f.err = f.build() })
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f
}

// build fills a store with realistic traffic: per message an accepted
// event, one to four recipients each delivered, a deferral for every other
// message, 2% bounced with a notice and its delivery, and removed: about
// five events per message.
func (f *fixture) build() error {
	begin := time.Now()
	dir, err := os.MkdirTemp("", "trace-bench-")
	if err != nil {
		return err
	}
	f.dir = dir
	db, err := store.Open(filepath.Join(dir, "trace.db"), store.Options{})
	if err != nil {
		return err
	}
	f.start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.st, err = New(db, Options{Now: func() time.Time { return f.start.Add(fixtureSpan) }})
	if err != nil {
		return err
	}
	// Bulk load: drop the indexes, append the rows, build the indexes
	// again from the same migration steps (sorting once is much faster
	// than 2M random index inserts; BenchmarkWrite measures those).
	var indexes []string
	for _, m := range migrations {
		if strings.Contains(m, " ON events ") {
			continue // the first layout, dropped
		}
		if name, ok := strings.CutPrefix(m, "CREATE INDEX "); ok {
			name = name[:strings.IndexByte(name, ' ')]
			if _, err := db.Exec(`DROP INDEX ` + name); err != nil {
				return err
			}
			indexes = append(indexes, m)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	addrs := make([]string, fixtureAddresses)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("user%04d@dept%02d.example.org", i, i%40)
	}
	f.addrs = addrs[:200]
	services := []string{"gerrit", "phabricator", "sentry", "jenkins", "wiki"}
	hex := func() string { return fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()) }
	step := fixtureSpan / fixtureMessages
	batch := make([]maillog.Event, 0, 25_000)
	total := 0
	ctx := context.Background()
	emit := func(e maillog.Event) error {
		batch = append(batch, e)
		total++
		if len(batch) == cap(batch) {
			err := f.st.write(ctx, batch)
			batch = batch[:0]
			return err
		}
		return nil
	}
	for i := 0; total < fixtureEvents; i++ {
		at := f.start.Add(time.Duration(i) * step)
		qid := hex()
		mid := fmt.Sprintf("<%d.%s@%s.example.org>", at.UnixNano(), qid[:12], services[i%5])
		from := addrs[rng.IntN(len(addrs))]
		base := maillog.Event{QueueID: qid, MessageID: mid, Service: services[i%5], From: from}
		if i%2000 == 0 {
			f.queueIDs = append(f.queueIDs, qid)
			f.msgIDs = append(f.msgIDs, mid)
		}
		n := 1 + rng.IntN(4)
		e := base
		e.Kind, e.Time, e.Client, e.Rcpts, e.Size = maillog.Accepted, at, "10.1.2.3", n, 2048+rng.Int64N(50000)
		f.st.writeMu.Lock()
		err := emit(e)
		for r := 0; r < n && err == nil; r++ {
			rcpt := addrs[rng.IntN(len(addrs))]
			e := base
			e.Rcpt, e.Upstream, e.Attempts = rcpt, "mx1.example.org:25", 1
			if r == 0 && i%2 == 0 {
				e.Kind, e.Time, e.Reply = maillog.Deferred, at.Add(time.Second), "451 4.7.1 greylisted"
				e.Next = at.Add(5 * time.Minute)
				if err = emit(e); err != nil {
					break
				}
				e.Attempts = 2
			}
			e.Kind, e.Time, e.Reply, e.Delay = maillog.Delivered, at.Add(2*time.Second), "250 2.0.0 ok", 2*time.Second
			if i%50 == 1 && r == 0 {
				e.Kind, e.Reply, e.Delay = maillog.Bounced, "550 5.1.1 no such user", 0
			}
			err = emit(e)
		}
		if err == nil && i%50 == 1 {
			nid := hex()
			e := base
			e.Kind, e.Time, e.Action, e.NoticeID, e.Rcpt = maillog.Notice, at.Add(3*time.Second), "bounce", nid, from
			if err = emit(e); err == nil {
				err = emit(maillog.Event{Kind: maillog.Delivered, Time: at.Add(4 * time.Second), QueueID: nid,
					Service: "posthorn", Rcpt: from, Upstream: "mx1.example.org:25", Reply: "250 ok"})
			}
		}
		if err == nil {
			e = base
			e.Kind, e.Time, e.Reply = maillog.Removed, at.Add(5*time.Second), "done"
			err = emit(e)
		}
		f.st.writeMu.Unlock()
		if err != nil {
			return err
		}
	}
	f.st.writeMu.Lock()
	err = f.st.write(ctx, batch)
	f.st.writeMu.Unlock()
	if err != nil {
		return err
	}
	filled := time.Since(begin)
	for _, m := range indexes {
		if _, err := db.Exec(m); err != nil {
			return err
		}
	}
	var size int64
	if fi, err := os.Stat(filepath.Join(dir, "trace.db")); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(os.Stderr, "trace fixture: %d events appended in %v, indexed in %v, %d MB\n", total,
		filled.Round(time.Millisecond), (time.Since(begin) - filled).Round(time.Millisecond), size>>20)
	return nil
}

func benchLookup(b *testing.B, q func(f *fixture, i int) Query, wantMin int) {
	f := loadFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	events := 0
	for i := 0; b.Loop(); i++ {
		ms, err := f.st.Lookup(ctx, q(f, i))
		if err != nil {
			b.Fatal(err)
		}
		if len(ms) < wantMin {
			b.Fatalf("query %+v: %d messages", q(f, i), len(ms))
		}
		for _, m := range ms {
			events += len(m.Events)
		}
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

func BenchmarkLookupByQueueID(b *testing.B) {
	benchLookup(b, func(f *fixture, i int) Query { return Query{QueueID: f.queueIDs[i%len(f.queueIDs)]} }, 1)
}

func BenchmarkLookupByQueueIDPrefix(b *testing.B) {
	benchLookup(b, func(f *fixture, i int) Query { return Query{Text: f.queueIDs[i%len(f.queueIDs)][:10]} }, 1)
}

func BenchmarkLookupByMessageID(b *testing.B) {
	benchLookup(b, func(f *fixture, i int) Query { return Query{MessageID: f.msgIDs[i%len(f.msgIDs)]} }, 1)
}

func BenchmarkLookupByAddress(b *testing.B) {
	benchLookup(b, func(f *fixture, i int) Query {
		from := f.start.Add(time.Duration(i%13) * 24 * time.Hour)
		return Query{Address: f.addrs[i%len(f.addrs)], From: from, To: from.Add(24 * time.Hour)}
	}, 1)
}

// BenchmarkRecord is the cost on the mail path: Record into the buffer,
// with a goroutine emptying it as Run does (without the SQL, which
// BenchmarkWrite measures). drops/op is the share lost to a full buffer.
func BenchmarkRecord(b *testing.B) {
	st, _ := openTest(b, Options{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-st.wake:
				st.recycle(st.take())
			}
		}
	}()
	b.Cleanup(func() { close(stop); <-done })
	e := maillog.Event{Kind: maillog.Delivered, Time: time.Now(), QueueID: "3f2a9c1e0b7d4a6f8e9d0c1b2a3f4e5d",
		MessageID: "<1234.abcdef@gerrit.example.org>", Service: "gerrit", From: "review@example.org",
		Rcpt: "alice@example.net", Upstream: "mx1.example.org:25", Reply: "250 2.0.0 ok", Attempts: 1}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			st.Record(e)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(st.Dropped())/float64(b.N), "drops/op")
}

// BenchmarkWrite is the writer's cost per event, in batches of writeBatch into a
// store that already holds the previous batches.
func BenchmarkWrite(b *testing.B) {
	st, _ := openTest(b, Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	batch := make([]maillog.Event, writeBatch)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += len(batch) {
		for i := range batch {
			batch[i] = maillog.Event{Kind: maillog.Delivered, Time: now, QueueID: fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()),
				MessageID: "<1234.abcdef@gerrit.example.org>", Service: "gerrit", From: "review@example.org",
				Rcpt: fmt.Sprintf("user%d@example.net", rng.IntN(2000)), Upstream: "mx1.example.org:25", Reply: "250 2.0.0 ok", Attempts: 1}
		}
		st.writeMu.Lock()
		err := st.write(context.Background(), batch)
		st.writeMu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
}

const writeBatch = 1000
