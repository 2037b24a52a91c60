package test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/testutil"
)

const (
	faultBodySize = 48 << 10 // one write(2) per message in the spool
	faultMaxSends = 200      // bound on messages sent to fill the spool
	faultTimeout  = 30 * time.Second
)

// spoolOnTmpfs writes a config whose spool directory (data_dir/queue) is a
// tmpfs of the given size, then starts posthorn on it. Root only: the test
// is skipped otherwise. The file system is unmounted after the daemon has
// stopped.
func spoolOnTmpfs(t *testing.T, size string, rc relayConfig) (*posthorn, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the spool fault tests mount a tmpfs and need root")
	}
	p := newRelayConfig(t, rc)
	qdir := filepath.Join(filepath.Dir(p.Config), "data", "queue")
	if err := os.MkdirAll(qdir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", qdir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (no CAP_SYS_ADMIN?): %v %s", err, out)
	}
	t.Cleanup(func() { // runs after the daemon's stop, registered later
		if err := exec.Command("umount", qdir).Run(); err != nil {
			_ = exec.Command("umount", "-l", qdir).Run()
		}
	})
	if err := p.serve(t); err != nil {
		t.Fatal(err)
	}
	return p, qdir
}

func remountSpool(t *testing.T, qdir, mode string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+mode, qdir).CombinedOutput(); err != nil {
		t.Fatalf("mount -o remount,%s %s: %v %s", mode, qdir, err, out)
	}
}

// faultMessage is message seq: a numbered header and a body of
// faultBodySize bytes.
func faultMessage(seq int) string {
	line := strings.Repeat(fmt.Sprintf("%d", seq%10), 78) + "\r\n"
	return fmt.Sprintf("From: app@example.org\r\nSubject: fault %d\r\nX-Fault-Seq: %d\r\n\r\n%s",
		seq, seq, strings.Repeat(line, faultBodySize/len(line)))
}

// replyOf returns the SMTP code of a send error, 250 for nil, 0 when the
// failure was not an SMTP reply.
func replyOf(err error) int {
	if err == nil {
		return 250
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// deferring makes the upstream answer 451 to every recipient, so that
// messages stay in the spool without marking the relay down.
func deferring() testutil.Script {
	return testutil.Script{Rcpt: func(string) error { return smtperr.New(451, [3]int{4, 3, 0}, "not now") }}
}

// seqOf returns the X-Fault-Seq of a message, -1 if it has none.
func seqOf(data []byte) int {
	i := strings.Index(string(data), "X-Fault-Seq: ")
	seq := -1
	if i >= 0 {
		fmt.Sscanf(string(data[i:]), "X-Fault-Seq: %d", &seq)
	}
	return seq
}

// waitSeqs waits until the upstream has received every seq in want.
func waitSeqs(t *testing.T, up *testutil.Upstream, want []int) {
	t.Helper()
	deadline := time.Now().Add(faultTimeout)
	for {
		got := map[int]int{}
		for _, m := range up.Messages() {
			got[seqOf(m.Data)]++
		}
		var missing []int
		for _, s := range want {
			if got[s] == 0 {
				missing = append(missing, s)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("acknowledged messages %v not delivered after %v", missing, faultTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const fastRetry = "down_backoff = \"200ms\"\ndown_backoff_max = \"1s\"\n" // in [delivery]

// TestFullSpool fills a 2 MiB spool: clients get 4xx (never 5xx), every
// message acknowledged before is delivered intact once the upstream takes
// mail again, and new mail is accepted when the space is back. The 48 KiB
// messages fit in the journal's buffer, so with the default spool_sync
// they go to the journal and, deferred, are copied to files of their own;
// with "file" each has its own file from the start.
func TestFullSpool(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"journal", "file"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			testFullSpool(t, mode)
		})
	}
}

func testFullSpool(t *testing.T, mode string) {
	up := testutil.NewUpstream(t)
	up.SetScript(deferring())
	p, qdir := spoolOnTmpfs(t, "2m", relayConfig{Upstreams: []string{up.Addr()}, Extra: fastRetry, SpoolSync: mode})

	var acked []int
	full := 0
	seq := 0
	for ; seq < faultMaxSends && full < 3; seq++ {
		err := sendMessage(p.Addr, "app@example.org", fmt.Sprintf("rcpt-%d@example.net", seq), faultMessage(seq))
		switch code := replyOf(err); {
		case code == 250:
			// In "file" mode nothing frees space while the upstream defers.
			// In journal mode the relay itself does, now and then: a copy
			// of a deferred message to its own file that fails for lack of
			// space is removed again, and so is the unfinished end of a
			// journal write; a message that then fits is rightly taken
			// (and must be delivered like the others, checked below).
			if full > 0 && mode == "file" {
				t.Errorf("seq %d accepted after the spool was full, before any space was freed", seq)
			}
			acked = append(acked, seq)
		case code == 452 || code == 451:
			full++
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.EnhancedCode[0] != 4 || se.EnhancedCode[1] != 3 {
				t.Errorf("seq %d: %v, want enhanced status 4.3.x", seq, err)
			}
		default:
			t.Fatalf("seq %d: %v (code %d), want 250 or 4xx; log:\n%s", seq, err, code, p.logTail(20))
		}
	}
	if full < 3 || len(acked) == 0 {
		t.Fatalf("after %d messages: %d acknowledged, %d refused with 4xx; the spool never filled", seq, len(acked), full)
	}
	t.Logf("spool full after %d acknowledged messages", len(acked))
	if !p.alive() {
		t.Fatalf("posthorn died with a full spool; log:\n%s", p.logTail(30))
	}

	up.SetScript(testutil.Script{}) // the relay takes mail: the queue drains, space returns
	waitSeqs(t, up, acked)
	for _, m := range up.Messages() {
		seq := seqOf(m.Data)
		if _, body, _ := strings.Cut(faultMessage(seq), "\r\n\r\n"); seq < 0 || !strings.HasSuffix(string(m.Data), "\r\n\r\n"+body) {
			t.Errorf("message for %v (seq %d) arrived damaged (%d bytes)", m.Rcpts, seq, len(m.Data))
		}
	}
	p.waitQueueEmpty(t, faultTimeout)

	next := seq + 1
	if err := sendMessage(p.Addr, "app@example.org", "after@example.net", faultMessage(next)); err != nil {
		t.Fatalf("after space returned: %v, want 250", err)
	}
	waitSeqs(t, up, []int{next})
	if names, _ := os.ReadDir(filepath.Join(filepath.Dir(qdir), "quarantine")); len(names) != 0 {
		t.Errorf("quarantined files after a full spool: %v", names)
	}
}

// TestReadOnlySpool remounts the spool read-only: clients get 4xx, a
// message delivered meanwhile stays queued until it can be removed (never
// lost, never sent twice), and all is well after remounting read-write.
// It runs with spool_sync = "file": in journal mode the open journal
// segment keeps the kernel from remounting the file system read-only
// (EBUSY), so the fault cannot be made this way; the journal's handling of
// failed writes and syncs is tested in internal/spool.
func TestReadOnlySpool(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.SetScript(deferring())
	p, qdir := spoolOnTmpfs(t, "8m", relayConfig{Upstreams: []string{up.Addr()}, Extra: fastRetry, SpoolSync: "file"})
	t.Cleanup(func() { _ = exec.Command("mount", "-o", "remount,rw", qdir).Run() })

	if err := sendMessage(p.Addr, "app@example.org", "a@example.net", faultMessage(1)); err != nil {
		t.Fatalf("before the fault: %v", err)
	}
	remountSpool(t, qdir, "ro")
	err := sendMessage(p.Addr, "app@example.org", "b@example.net", faultMessage(2))
	if code := replyOf(err); code < 400 || code > 499 {
		t.Fatalf("read-only spool: %v (code %d), want 4xx", err, code)
	}

	up.SetScript(testutil.Script{})
	waitSeqs(t, up, []int{1})
	// Delivered but not removable: still queued, recipient delivered.
	deadline := time.Now().Add(faultTimeout)
	for {
		q := p.queue(t)
		if len(q) == 1 && q[0].Recipients[0].State == "delivered" {
			break
		}
		if len(q) == 0 {
			t.Fatal("a delivered message vanished from the queue although its file could not be removed")
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %+v", q)
		}
		time.Sleep(100 * time.Millisecond)
	}

	remountSpool(t, qdir, "rw")
	p.waitQueueEmpty(t, faultTimeout)
	if err := sendMessage(p.Addr, "app@example.org", "c@example.net", faultMessage(3)); err != nil {
		t.Fatalf("after remount rw: %v, want 250", err)
	}
	waitSeqs(t, up, []int{3})
	if n := len(up.Messages()); n != 2 {
		t.Errorf("upstream received %d messages, want 2 (no copy of the refused one, no duplicate)", n)
	}
}
