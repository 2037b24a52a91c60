package trace

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
)

// BenchmarkWriteRelay is the writer's cost per event for relay traffic as
// the daemon records it: per message an accepted event, a delivered event
// per recipient (one or two), and removed, written in batches of
// relayBatch events (about one second of traffic at 1,600 messages/s, Run's
// write pause). "together" has each message's events in one batch (the
// relay's fast path); "split" has its accepted event in one batch and the
// rest in the next (a delivery that took longer than the write pause).
//
// Metrics: events/s (wall clock), cpu-us/event (user+system CPU of the
// whole process, SQLite included, from getrusage), disk-B/event (database
// size at the end, after a checkpoint).
func BenchmarkWriteRelay(b *testing.B) {
	for _, split := range []bool{false, true} {
		name := "together"
		if split {
			name = "split"
		}
		b.Run(name, func(b *testing.B) { benchWriteRelay(b, split) })
	}
}

const relayBatch = 5000

func benchWriteRelay(b *testing.B, split bool) {
	st, path := openTest(b, Options{})
	rng := rand.New(rand.NewPCG(5, 6))
	addrs := make([]string, 2000)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("user%04d@dept%02d.example.org", i, i%40)
	}
	services := []string{"gerrit", "phabricator", "sentry", "jenkins", "wiki"}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	// Batches are generated with the timer stopped, into reused slices;
	// "split" carries each message's later events into the next batch.
	var cur, next []maillog.Event
	events := 0
	fill := func() []maillog.Event {
		cur, next = append(cur[:0], next...), next[:0]
		for len(cur) < relayBatch && events < b.N {
			at = at.Add(600 * time.Microsecond)
			qid := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
			svc := services[rng.IntN(len(services))]
			base := maillog.Event{QueueID: qid, MessageID: fmt.Sprintf("<%d.%s@%s.example.org>", at.UnixNano(), qid[:12], svc),
				Service: svc, From: "noreply@" + svc + ".example.org"}
			n := 1 + rng.IntN(2)
			e := base
			e.Kind, e.Time, e.Client, e.Rcpts, e.Size = maillog.Accepted, at, "10.1.2.3", n, 2048
			cur = append(cur, e)
			later := &cur
			if split {
				later = &next
			}
			for r := range n {
				e := base
				e.Kind, e.Time, e.Rcpt, e.Upstream = maillog.Delivered, at.Add(time.Duration(r+1)*time.Millisecond),
					addrs[rng.IntN(len(addrs))], "127.0.0.1:2525"
				e.Reply, e.Attempts, e.Delay = "250 2.0.0 Ok: queued as 4Xk2", 1, 3*time.Millisecond
				*later = append(*later, e)
			}
			e = base
			e.Kind, e.Time, e.Reply = maillog.Removed, at.Add(5*time.Millisecond), "done"
			*later = append(*later, e)
			events += 2 + n
		}
		if events >= b.N {
			cur = append(cur, next...)
			next = next[:0]
		}
		return cur
	}
	ctx := context.Background()
	var cpu time.Duration
	b.ResetTimer()
	for {
		b.StopTimer()
		batch := fill()
		if len(batch) == 0 {
			break
		}
		b.StartTimer()
		c0 := cpuTime()
		st.writeMu.Lock()
		err := st.write(ctx, batch)
		st.writeMu.Unlock()
		cpu += cpuTime() - c0
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(events), "cpu-us/event")
	// The database alone, its WAL checkpointed into it.
	if _, err := st.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	b.ReportMetric(float64(size)/float64(events), "disk-B/event")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
