package smtpd_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/metrics"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/smtpd"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/stats"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/trace"
)

// BenchmarkAccept is the accept path of the daemon as bench/run.sh loads
// it: SESSIONS (default 20) concurrent clients over loopback, each
// connection carrying one 2 KB message (connect, EHLO, MAIL, RCPT, DATA,
// QUIT, one command at a time like smtp-source), into a real spool with
// its fdatasync and group directory fsync, through the queue's Commit and
// a mail log with the daemon's sinks (JSON log, statistics, trace store
// with its writer, metrics). One op is one accepted message.
//
// The queue runs with a courier that reports every recipient delivered at
// once, so that, as in bench/run.sh with smtp-sink upstream, each message
// is removed from the spool soon after it arrived: the spool stays small
// and files are deleted as fast as they are created, which matters for
// the file system's inode allocation. The figures therefore include the
// queue's delivery bookkeeping and the removal, not an SMTP client.
//
// It reports msgs/s and cpu-ns/msg: the process's user+system CPU time
// (getrusage) per message, which holds up on a loaded machine where the
// rate does not. The GC runs at serve's GOGC of 50. Both figures include the benchmark's own client, which
// is kept small (one reused buffer per session, raw socket). The spool is
// created under $BENCH_DIR (default the test's temporary directory): put
// it on the disk to measure, not on a tmpfs. SPOOL_SYNC=filesystem or
// journal puts the spool in that mode (spool_sync).
//
//	go test -run '^$' -bench Accept -benchtime 4000x ./internal/smtpd/
func BenchmarkAccept(b *testing.B) {
	sessions := 20
	if s := os.Getenv("SESSIONS"); s != "" {
		if _, err := fmt.Sscan(s, &sessions); err != nil || sessions < 1 {
			b.Fatalf("SESSIONS=%q", s)
		}
	}
	// The daemon's GC setting (serve: half the default headroom).
	gc := debug.SetGCPercent(50)
	b.Cleanup(func() { debug.SetGCPercent(gc) })
	addr, q := startAcceptServer(b)
	msg := benchMessage(2048)

	// Warm up: pools, the directory, the trace writer's statements.
	runClients(b, addr, msg, sessions, 2*sessions)
	waitEmpty(b, q)

	b.ReportAllocs()
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	b.ResetTimer()
	runClients(b, addr, msg, sessions, b.N)
	waitEmpty(b, q)
	b.StopTimer()
	el := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/msg")
}

// startAcceptServer builds what serve builds for SMTP intake and returns
// the listener's address and the queue; everything stops at the end of
// the benchmark.
func startAcceptServer(b *testing.B) (string, *queue.Queue) {
	b.Helper()
	base := os.Getenv("BENCH_DIR")
	if base == "" {
		base = b.TempDir()
	} else {
		d, err := os.MkdirTemp(base, "posthorn-accept-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(d) })
		base = d
	}
	db, err := store.Open(filepath.Join(base, "posthorn.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	st, err := stats.New(db, stats.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tdb, err := store.Open(filepath.Join(base, "trace.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tdb.Close() })
	tr, err := trace.New(tdb, trace.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); tr.Run(ctx) }()
	go func() { defer bg.Done(); st.Run(ctx) }()
	b.Cleanup(func() { cancel(); bg.Wait(); tr.Close() })

	sp, err := spool.Open(filepath.Join(base, "queue"), "", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sp.Close() })
	switch os.Getenv("SPOOL_SYNC") {
	case "filesystem":
		err = sp.SetSyncMode(spool.SyncFS)
	case "journal":
		err = sp.SetSyncMode(spool.SyncJournal)
	}
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	mlog := maillog.New(logger, st, tr)
	q := queue.New(queue.Options{Store: sp, Courier: instantCourier{}, Hostname: "relay.bench", MailLog: mlog, Logger: logger})
	qctx, qcancel := context.WithCancel(context.Background())
	qdone := make(chan struct{})
	go func() { defer close(qdone); q.Run(qctx, qctx) }()
	b.Cleanup(func() { qcancel(); <-qdone })
	met, err := metrics.New(prometheus.NewRegistry(), metrics.Sources{Queue: q.Stats})
	if err != nil {
		b.Fatal(err)
	}
	mlog.AddSink(met)

	srv := smtpd.New(smtpd.Options{
		Hostname: "relay.bench", TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxMessageSize: 25 << 20, MaxRecipients: 1000, MaxLineLength: 4096, MaxReceived: 50,
		MaxConnections: 1000, MaxConnectionsPerIP: 100,
		ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute,
		MaxSessionTime: 30 * time.Minute, DataTimeout: 10 * time.Minute,
		Spool: q, MailLog: mlog, Logger: logger,
	})
	front := smtpd.NewFront(srv, logger)
	b.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = front.Shutdown(sctx)
	})
	if err := front.ListenAll([]string{"127.0.0.1:0"}, nil); err != nil {
		b.Fatal(err)
	}
	return front.Addrs()["127.0.0.1:0"].String(), q
}

// instantCourier delivers every recipient at once.
type instantCourier struct{}

func (instantCourier) Deliver(_ context.Context, m *courier.Message) []courier.Result {
	out := make([]courier.Result, len(m.Rcpts))
	for i, r := range m.Rcpts {
		out[i] = courier.Result{Rcpt: r, Upstream: "127.0.0.1:25"}
	}
	return out
}

// waitEmpty waits (up to a minute) until the queue has delivered and
// removed everything.
func waitEmpty(b *testing.B, q *queue.Queue) {
	for i := 0; q.Len() > 0; i++ {
		if i == 60000 {
			b.Fatalf("queue still holds %d messages after a minute", q.Len())
		}
		time.Sleep(time.Millisecond)
	}
}

// benchMessage is a message of about size bytes, like smtp-source's.
func benchMessage(size int) []byte {
	var sb strings.Builder
	sb.WriteString("From: <bench@example.org>\r\nTo: <sink@example.net>\r\n")
	sb.WriteString("Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-Id: <bench.1@client.bench>\r\n")
	sb.WriteString("Subject: benchmark\r\n\r\n")
	for i := 1; sb.Len() < size; i++ {
		fmt.Fprintf(&sb, "La de da de da %d.\r\n", i)
	}
	sb.WriteString(".\r\n")
	return []byte(sb.String())
}

// runClients sends n messages over sessions concurrent connections, one
// message per connection.
func runClients(b *testing.B, addr string, msg []byte, sessions, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newBenchClient(msg)
			for next.Add(1) <= int64(n) {
				if err := c.send(addr); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// benchClient is a minimal SMTP client: one command, one reply.
type benchClient struct {
	steps []step
	br    *bufio.Reader
}

// step is what the client sends (nil: nothing, the greeting) and the
// first digit of the reply it expects.
type step struct {
	send []byte
	want byte
}

func newBenchClient(msg []byte) *benchClient {
	return &benchClient{steps: []step{
		{nil, '2'},
		{[]byte("EHLO client.bench\r\n"), '2'},
		{[]byte("MAIL FROM:<bench@example.org>\r\n"), '2'},
		{[]byte("RCPT TO:<sink@example.net>\r\n"), '2'},
		{[]byte("DATA\r\n"), '3'},
		{msg, '2'},
		{[]byte("QUIT\r\n"), '2'},
	}}
}

func (c *benchClient) send(addr string) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 4096)
	} else {
		c.br.Reset(conn)
	}
	for _, s := range c.steps {
		if s.send != nil {
			if _, err := conn.Write(s.send); err != nil {
				return err
			}
		}
		if err := c.reply(s.want); err != nil {
			return err
		}
	}
	return nil
}

// reply reads one (possibly multi-line) reply and checks its first digit.
func (c *benchClient) reply(want byte) error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) < 4 || line[0] != want {
			return fmt.Errorf("unexpected reply %q", line)
		}
		if line[3] != '-' {
			return nil
		}
	}
}
