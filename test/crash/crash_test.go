package crash

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
)

const (
	defaultCycles   = 4                // kill/restart cycles per variant: 20 SIGKILLs in all
	maxCycles       = 150              // bound on POSTHORN_CRASH_CYCLES (maxSeq messages per variant)
	ackTarget       = 500              // acknowledged messages per cycle before the kill
	loadMax         = 3 * time.Second  // or this much load, whichever comes first
	deliverTimeout  = 30 * time.Second // restart until every acknowledged message arrived
	drainTimeout    = 15 * time.Second // until the restarted daemon's queue is empty
	maxReportedSeqs = 20               // how many missing or duplicate seqs a failure lists
)

// fault is what happens to the upstream halfway through a cycle's load.
type fault int

const (
	faultNone      fault = iota // the upstream accepts everything
	faultDown                   // the upstream stops listening: messages pile up on disk
	faultHangAfter              // the upstream reads DATA and never answers: deliveries in flight
)

func (f fault) inject(up *testutil.Upstream) {
	switch f {
	case faultDown:
		up.Stop()
	case faultHangAfter:
		up.SetScript(testutil.Script{HangAfterData: true})
	}
}

func (f fault) restore(up *testutil.Upstream) {
	switch f {
	case faultDown:
		up.Start()
	case faultHangAfter:
		up.Stop() // releases the hung sessions
		up.SetScript(testutil.Script{})
		up.Start()
	}
}

// scenario is one variant of the test.
type scenario struct {
	name  string
	fault fault
	// killInRecovery kills the restarted daemon again as soon as it has
	// redelivered its first message, and restarts it once more.
	killInRecovery bool
	// spoolSync is the spool_sync setting ("" = the default, "journal").
	spoolSync string
}

// crashCycles is POSTHORN_CRASH_CYCLES (the long soak), or defaultCycles.
func crashCycles(t *testing.T) int {
	v := os.Getenv("POSTHORN_CRASH_CYCLES")
	if v == "" {
		return defaultCycles
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxCycles {
		t.Fatalf("POSTHORN_CRASH_CYCLES=%q: want a number from 1 to %d", v, maxCycles)
	}
	return n
}

// TestCrashRestartDeliversAcknowledged kills posthorn with SIGKILL under
// load, restarts it, and checks that every message it acknowledged with 250
// reaches the upstream, several times in a row per variant (20 kills in
// all by default).
func TestCrashRestartDeliversAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the posthorn binary; skipped with -short")
	}
	cycles := crashCycles(t)
	bin := posthornBinary(t)
	for _, sc := range []scenario{
		{name: "upstream-up", fault: faultNone},
		{name: "upstream-down", fault: faultDown},
		{name: "upstream-hangs", fault: faultHangAfter},
		{name: "kill-during-recovery", fault: faultDown, killInRecovery: true},
		{name: "upstream-down-syncfs", fault: faultDown, spoolSync: "filesystem"},
		{name: "upstream-up-file", fault: faultNone, spoolSync: "file"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			up := testutil.NewUpstream(t)
			r := &crashRun{sc: sc, d: newDaemon(t, bin, up.Addr(), sc.spoolSync), up: up, l: newLedger()}
			for c := 1; c <= cycles; c++ {
				r.cycle(t, c)
			}
			checkReceived(t, up.Messages(), r.l, r.kills)
			if !t.Failed() {
				t.Logf("%s: %d SIGKILLs, no acknowledged message lost", sc.name, r.kills)
			}
		})
	}
}

// crashRun is the state of one variant across its cycles.
type crashRun struct {
	sc    scenario
	d     *daemon
	up    *testutil.Upstream
	l     *ledger
	logs  []string // log file of every run so far
	kills int
}

func (r *crashRun) start(t *testing.T) *proc {
	t.Helper()
	p := r.d.start(t)
	r.logs = append(r.logs, p.log)
	return p
}

// restart starts the daemon after a kill and checks its recovery report.
func (r *crashRun) restart(t *testing.T, cycle int) (p *proc, recovered int) {
	t.Helper()
	p = r.start(t)
	recovered, corrupt := recovery(t, p.log)
	if corrupt != 0 {
		t.Errorf("cycle %d: restart found %d corrupt spool files; why:\n%s", cycle, corrupt, grepFile(p.log, "corrupt spool file"))
	}
	return p, recovered
}

// cycle runs one start/load/kill/restart/drain/stop cycle.
func (r *crashRun) cycle(t *testing.T, cycle int) {
	t.Helper()
	p := r.start(t)
	before := r.l.ackedCount()
	ctx, cancel := context.WithTimeout(context.Background(), loadMax+exitTimeout)
	wait := runLoad(ctx, r.d.addr, r.l)
	t.Cleanup(func() { cancel(); wait() }) // in case the cycle fails midway

	began := time.Now()
	afterFault := -1 // acknowledged count when the fault was injected
	for {
		n := r.l.ackedCount() - before
		elapsed := time.Since(began)
		if afterFault < 0 && r.sc.fault != faultNone && (n >= ackTarget/2 || elapsed >= loadMax/2) {
			r.sc.fault.inject(r.up)
			afterFault = n
		}
		if n >= ackTarget || elapsed >= loadMax || !p.alive() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.kill(t)
	r.kills++
	cancel()
	wait()
	acked := r.l.ackedCount() - before
	if acked == 0 {
		t.Fatalf("cycle %d: no message acknowledged in %v of load; log:\n%s", cycle, loadMax, tail(p.log, 30))
	}
	r.sc.fault.restore(r.up)

	delivered := len(r.up.Messages())
	p, recovered := r.restart(t, cycle)
	t.Logf("cycle %d: %d acknowledged in %v (%d sent in all), SIGKILL; restart recovered %d",
		cycle, acked, time.Since(began).Round(time.Millisecond), r.l.sent(), recovered)
	if afterFault >= 0 && acked > afterFault && recovered == 0 {
		t.Errorf("cycle %d: %d messages acknowledged while the upstream was failing, but the restart recovered none",
			cycle, acked-afterFault)
	}
	if r.sc.killInRecovery {
		r.up.Wait(t, delivered+1, deliverTimeout) // redelivery is under way
		p.kill(t)
		r.kills++
		var again int
		p, again = r.restart(t, cycle)
		t.Logf("cycle %d: SIGKILL during recovery after %d redeliveries; restart recovered %d",
			cycle, len(r.up.Messages())-delivered, again)
	}
	waitDelivered(t, r.up, r.l, r.logs)
	r.d.waitQueueEmpty(t, drainTimeout)
	p.term(t)
	if q := r.d.queueList(t); len(q) != 0 {
		t.Errorf("cycle %d: offline queue list shows %d messages after a clean stop; first: %s", cycle, len(q), q[0])
	}
	r.d.checkSpoolDirs(t)
}

// receivedCounts counts the upstream's copies of each sequence number.
func receivedCounts(msgs []testutil.Received) map[int]int {
	counts := make(map[int]int, len(msgs))
	for _, m := range msgs {
		if len(m.Rcpts) != 1 {
			continue // reported by checkReceived
		}
		if seq, ok := seqOfRcpt(m.Rcpts[0]); ok {
			counts[seq]++
		}
	}
	return counts
}

// waitDelivered waits until the upstream has every message in the ledger,
// failing with the missing ones (and what the logs say of them) if that
// takes longer than deliverTimeout.
func waitDelivered(t *testing.T, up *testutil.Upstream, l *ledger, logs []string) {
	t.Helper()
	acked, _ := l.snapshot()
	deadline := time.Now().Add(deliverTimeout)
	for attempt := 0; ; attempt++ {
		counts := receivedCounts(up.Messages())
		var missing []int
		for seq := range acked {
			if counts[seq] == 0 {
				missing = append(missing, seq)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) || attempt > 10000 {
			slices.Sort(missing)
			var b bytes.Buffer
			for i, seq := range missing {
				if i == maxReportedSeqs {
					fmt.Fprintf(&b, "  ... and %d more\n", len(missing)-i)
					break
				}
				fmt.Fprintf(&b, "  seq %d queue id %s\n", seq, acked[seq])
				if i < 3 && acked[seq] != "" {
					for _, line := range grepLog(logs, acked[seq], 10) {
						fmt.Fprintf(&b, "    %s\n", line)
					}
				}
			}
			t.Fatalf("%d of %d acknowledged messages not delivered %v after the restart:\n%s",
				len(missing), len(acked), deliverTimeout, b.Bytes())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkReceived checks every copy the upstream got: one recipient, a
// sequence number that was sent, the right header and an intact body;
// every acknowledged message at least once; extra copies no more than the
// deliveries that can be in flight at the crashes.
func checkReceived(t *testing.T, msgs []testutil.Received, l *ledger, kills int) {
	t.Helper()
	acked, anomalies := l.snapshot()
	for _, a := range anomalies {
		t.Errorf("client: %s", a)
	}
	sent := l.sent()
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= maxReportedSeqs {
			t.Errorf(format, args...)
		}
	}
	for i, m := range msgs {
		if len(m.Rcpts) != 1 {
			report("upstream message %d has recipients %q, want one", i, m.Rcpts)
			continue
		}
		seq, ok := seqOfRcpt(m.Rcpts[0])
		if !ok || seq >= sent {
			report("upstream message %d for %q, which the test never sent", i, m.Rcpts[0])
			continue
		}
		if m.From != "sender@example.org" {
			report("seq %d: reverse-path %q, want sender@example.org", seq, m.From)
		}
		head, body, ok := bytes.Cut(m.Data, []byte("\r\n\r\n"))
		if !ok {
			report("seq %d: no end of header section in %d bytes", seq, len(m.Data))
			continue
		}
		if !bytes.Contains(m.Data[:len(head)+2], []byte(seqHeader(seq))) {
			report("seq %d: header section lacks %q", seq, seqHeader(seq))
		}
		if !bytes.Equal(body, bodyOf(seq)) {
			report("seq %d: body of %d bytes differs from the %d sent", seq, len(body), len(bodyOf(seq)))
		}
	}
	if bad > maxReportedSeqs {
		t.Errorf("... %d problems with received messages in all", bad)
	}

	counts := receivedCounts(msgs)
	var lost, dups []int
	extra := 0
	for seq := range acked {
		if counts[seq] == 0 {
			lost = append(lost, seq)
		}
	}
	for seq, n := range counts {
		if n > 1 {
			dups = append(dups, seq)
			extra += n - 1
		}
	}
	slices.Sort(lost)
	slices.Sort(dups)
	if len(lost) > 0 {
		t.Errorf("%d acknowledged messages lost: seqs %v", len(lost), lost[:min(len(lost), maxReportedSeqs)])
	}
	t.Logf("%d acknowledged of %d sent; upstream got %d copies of %d distinct messages; %d duplicated (%d extra copies): %v",
		len(acked), sent, len(msgs), len(counts), len(dups), extra, dups[:min(len(dups), maxReportedSeqs)])
	if limit := concurrency * kills; extra > limit {
		t.Errorf("%d extra copies, more than the %d deliveries that can be in flight at %d crashes (delivery.concurrency %d)",
			extra, limit, kills, concurrency)
	}
}
