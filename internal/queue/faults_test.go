package queue

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/testutil"
)

// events records mail log events.
type events struct {
	mu sync.Mutex
	ev []maillog.Event
}

func (e *events) Record(ev maillog.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, ev)
}

func (e *events) of(kind maillog.Kind) []maillog.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []maillog.Event
	for _, ev := range e.ev {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// TestStallAfterDataIsRetriedAndMarkedMaybeDelivered: the upstream takes
// the whole message and never answers the dot. The attempt is deferred and
// recorded as possibly delivered (queue listing and mail log), the message
// is retried, and the delivery that finally succeeds still says so.
func TestStallAfterDataIsRetriedAndMarkedMaybeDelivered(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.SetScript(testutil.Script{HangAfterData: true})
	rec := &events{}
	e := start(t, setup{upstreams: []string{up.Addr()}, mlog: maillog.New(nil, rec), dataTimeout: 200 * time.Millisecond})
	id := e.submit("alice@example.org", "bob@example.net")
	s := e.waitAttempts(id, 1)
	r := s.Recipients[0]
	if r.State != "pending" || !r.MaybeDelivered || r.Upstream != up.Addr() {
		t.Fatalf("after the stalled attempt: %+v, want pending, maybe delivered, via %s", r, up.Addr())
	}
	deferred := rec.of(maillog.Deferred)
	if len(deferred) == 0 || !deferred[0].Maybe || deferred[0].QueueID != id {
		t.Fatalf("deferred events %+v, want one with Maybe for %s", deferred, id)
	}
	// Persisted, so an operator sees it after a restart too.
	if m, err := e.store.Load(id); err == nil && m.State.Rcpts[0].Attempts > 0 && !m.State.Rcpts[0].MaybeDelivered {
		t.Fatalf("state on disk lost maybe_delivered: %+v", m.State)
	}

	up.SetScript(testutil.Script{})
	got := up.Wait(t, 1, 10*time.Second)
	if got[0].Rcpts[0] != "bob@example.net" {
		t.Fatalf("delivered %+v", got[0])
	}
	e.waitEmpty()
	delivered := rec.of(maillog.Delivered)
	if len(delivered) != 1 || !delivered[0].Maybe || delivered[0].Attempts < 2 {
		t.Fatalf("delivered events %+v, want one with Maybe after at least 2 attempts", delivered)
	}
}

// TestCorruptFilesDoNotBlockTheQueue: damaged spool files are quarantined
// at recovery and the good messages around them are delivered.
func TestCorruptFilesDoNotBlockTheQueue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := spool.Open(filepath.Join(dir, "queue"), filepath.Join(dir, "quarantine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for i := range 6 {
		w, err := st.Create(&spool.Envelope{From: "a@example.org", Rcpts: []string{"r@example.net"}, Arrival: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("Subject: x\r\n\r\nbody of the message\r\n"))
		m, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			continue
		}
		path := filepath.Join(st.Dir(), m.Env.ID)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 0: // truncated in the body
			data = data[:len(data)-8]
		case 2: // garbage envelope
			copy(data[12:], "\x00garbage\x00")
		case 4: // body length beyond the file
			envLen := binary.LittleEndian.Uint32(data[8:])
			binary.LittleEndian.PutUint64(data[12+envLen+4:], 1<<40)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		bad = append(bad, m.Env.ID)
	}
	st.Close()

	up := testutil.NewUpstream(t)
	e := start(t, setup{upstreams: []string{up.Addr()}, dir: dir})
	up.Wait(t, 3, 10*time.Second)
	e.waitEmpty()
	for _, id := range bad {
		if _, err := os.Stat(filepath.Join(dir, "quarantine", id)); err != nil {
			t.Errorf("corrupt %s not quarantined: %v", id, err)
		}
	}
	if n := len(up.Messages()); n != 3 {
		t.Errorf("upstream got %d messages, want the 3 intact ones", n)
	}
}

// mountTmpfs mounts a tmpfs of the given size on dir (root only) and
// unmounts it at the end of the test.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		if err := exec.Command("umount", dir).Run(); err != nil {
			_ = exec.Command("umount", "-l", dir).Run()
		}
	})
}

func remount(t *testing.T, dir, mode string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v %s", mode, dir, err, out)
	}
}

// TestReadOnlySpoolKeepsDeliveredMessageUntilRemoved: a message delivered
// while the spool is read-only cannot be removed; it stays queued (not
// forgotten, not redelivered), the write failure shows in WriteHealth, and
// it is removed once the spool is writable again.
func TestReadOnlySpoolKeepsDeliveredMessageUntilRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	if err := os.Mkdir(qdir, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTmpfs(t, qdir, "4m")
	up := testutil.NewUpstream(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	up.SetScript(testutil.Script{Rcpt: func(string) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		return nil
	}})
	e := start(t, setup{upstreams: []string{up.Addr()}, dir: dir})
	e.submit("alice@example.org", "bob@example.net")
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("delivery never started")
	}
	remount(t, qdir, "ro")
	t.Cleanup(func() { _ = exec.Command("mount", "-o", "remount,rw", qdir).Run() })
	close(release)
	up.Wait(t, 1, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !e.q.WriteHealth().Failing() {
		if time.Now().After(deadline) {
			t.Fatalf("no write failure recorded: %+v", e.q.WriteHealth())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.q.Len(); n != 1 {
		t.Fatalf("queue holds %d messages while the spool is read-only, want the delivered one kept", n)
	}
	if err := e.q.ProbeSpool(); err == nil {
		t.Fatal("probe succeeded on a read-only spool")
	}

	remount(t, qdir, "rw")
	e.waitEmpty()
	if err := e.q.ProbeSpool(); err != nil || e.q.WriteHealth().Failing() {
		t.Fatalf("after remount rw: probe %v, health %+v", err, e.q.WriteHealth())
	}
	if n := len(up.Messages()); n != 1 {
		t.Fatalf("upstream got %d copies, want 1", n)
	}
	if names, _ := os.ReadDir(qdir); len(names) != 0 {
		t.Fatalf("spool files left: %v", names)
	}
}
