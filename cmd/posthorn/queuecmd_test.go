package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/control"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/spool"
)

// spoolMessage commits a message to the queue spool of dataDir.
func spoolMessage(t *testing.T, dataDir, from string, rcpts []string, arrival time.Time) string {
	t.Helper()
	st, err := spool.Open(filepath.Join(dataDir, "queue"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := st.Create(&spool.Envelope{From: from, Rcpts: rcpts, Arrival: arrival, Client: "127.0.0.1", Service: "gerrit"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString("Subject: review\r\nFrom: " + from + "\r\n\r\nplease\r\n"); err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return m.Env.ID
}

func queueRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runQueue(args, &out, &errb)
	return code, out.String(), errb.String()
}

func listJSON(t *testing.T, cfg string) []queue.Summary {
	t.Helper()
	code, out, stderr := queueRun(t, "list", "--json", "--config", cfg)
	if code != 0 {
		t.Fatalf("list --json: exit %d: %s", code, stderr)
	}
	var list []queue.Summary
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json output %q: %v", out, err)
	}
	return list
}

func TestQueueOfflineList(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	newer := spoolMessage(t, data, "b@example.org", []string{"x@example.net"}, t0.Add(time.Minute))
	older := spoolMessage(t, data, "", []string{"y@example.net", "z@example.net"}, t0)

	list := listJSON(t, cfg)
	if len(list) != 2 || list[0].ID != older || list[1].ID != newer {
		t.Fatalf("list = %+v", list)
	}
	if len(list[0].Recipients) != 2 || list[0].Recipients[1].Addr != "z@example.net" ||
		list[0].Recipients[1].State != "pending" || list[0].Service != "gerrit" {
		t.Fatalf("first = %+v", list[0])
	}

	code, out, stderr := queueRun(t, "--config", cfg, "list")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, stderr)
	}
	for _, want := range []string{older + "  ", newer + "  ", "  <>\n", "    z@example.net  pending\n", "-- 2 messages"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, older) > strings.Index(out, newer) {
		t.Errorf("not oldest first:\n%s", out)
	}
}

func TestQueueEmpty(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	// No data directory at all: nothing is created.
	if code, out, _ := queueRun(t, "list", "--config", cfg); code != 0 || out != "Mail queue is empty\n" {
		t.Fatalf("list = %d %q", code, out)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatal("list created the data directory")
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := queueRun(t, "list", "--json", "--config", cfg); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("list --json = %d %q", code, out)
	}
}

func TestQueueOfflineHoldReleaseDelete(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	id := spoolMessage(t, data, "a@example.org", []string{"x@example.net"}, time.Now())
	keep := spoolMessage(t, data, "a@example.org", []string{"y@example.net"}, time.Now())

	if code, out, stderr := queueRun(t, "hold", id, "--config", cfg); code != 0 || out != id+": held\n" {
		t.Fatalf("hold = %d %q %s", code, out, stderr)
	}
	if list := listJSON(t, cfg); !held(list, id) || held(list, keep) {
		t.Fatalf("after hold: %+v", list)
	}
	if code, out, _ := queueRun(t, "--config", cfg, "list"); code != 0 || !strings.Contains(out, "(held)") {
		t.Fatalf("text list does not show the hold:\n%s", out)
	}
	if code, _, stderr := queueRun(t, "release", id, "--config", cfg); code != 0 {
		t.Fatalf("release: %s", stderr)
	}
	if list := listJSON(t, cfg); held(list, id) {
		t.Fatalf("after release: %+v", list)
	}
	if code, _, stderr := queueRun(t, "delete", id, "--config", cfg); code != 0 {
		t.Fatalf("delete: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "queue", id)); !os.IsNotExist(err) {
		t.Fatal("deleted message still in the spool")
	}
	if list := listJSON(t, cfg); len(list) != 1 || list[0].ID != keep {
		t.Fatalf("after delete: %+v", list)
	}
	code, _, stderr := queueRun(t, "hold", id, "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "no message "+id) {
		t.Fatalf("hold of a deleted id = %d %q", code, stderr)
	}
	if code, out, _ := queueRun(t, "flush", keep, "--config", cfg); code != 0 || !strings.Contains(out, "not running") {
		t.Fatalf("offline flush = %d %q", code, out)
	}
}

func held(list []queue.Summary, id string) bool {
	for _, s := range list {
		if s.ID == id {
			return s.Held
		}
	}
	return false
}

func TestQueueShow(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	id := spoolMessage(t, data, "a@example.org", []string{"x@example.net"}, time.Now())
	code, out, stderr := queueRun(t, "show", id, "--config", cfg)
	if code != 0 {
		t.Fatalf("show: %s", stderr)
	}
	for _, want := range []string{"Queue ID:", id, "Sender:", "a@example.org", "Service:", "gerrit",
		"  x@example.net  pending, 0 attempts", "Headers:\nSubject: review\nFrom: a@example.org\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = queueRun(t, "show", "--json", id, "--config", cfg)
	var d queue.Detail
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.ID != id || !strings.HasPrefix(d.Headers, "Subject: review\r\n") {
		t.Fatalf("show --json = %d %q", code, out)
	}
}

func TestQueueUsageAndBadIDs(t *testing.T) {
	t.Parallel()
	cfg, _ := testConfig(t, "")
	for _, args := range [][]string{{}, {"list", "extra"}, {"hold"}, {"flush", "a", "b"}, {"bounce", "x"}, {"list", "--bogus"}} {
		if code, _, _ := queueRun(t, append(args, "--config", cfg)...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := queueRun(t, "list", "--config"); code != 2 {
		t.Errorf("--config without a file: exit %d, want 2", code)
	}
	code, _, stderr := queueRun(t, "delete", "../../etc/passwd", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "not a queue id") {
		t.Fatalf("bad id = %d %q", code, stderr)
	}
	code, _, stderr = queueRun(t, "show", "0123456789abcdef0123456789abcdef", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "no message") {
		t.Fatalf("unknown id = %d %q", code, stderr)
	}
}

func TestQueueListsDropDirectory(t *testing.T) {
	t.Parallel()
	cfg, _ := testConfig(t, "")
	if code, _, stderr := sendmailRun(t, "hi\n", "--config", cfg, "a@example.net"); code != 0 {
		t.Fatal(stderr)
	}
	if list := listJSON(t, cfg); len(list) != 1 || list[0].Recipients[0].Addr != "a@example.net" {
		t.Fatalf("list = %+v", list)
	}
	// mailq (sendmail -bp) is the same listing.
	code, out, stderr := sendmailRun(t, "", "-bp", "--config", cfg)
	if code != 0 || !strings.Contains(out, "a@example.net") || !strings.Contains(out, "-- 1 message,") {
		t.Fatalf("mailq = %d %q %s", code, out, stderr)
	}
}

// TestQueueOnline runs the commands against a "daemon": the lock held and a
// control socket serving a real queue.
func TestQueueOnline(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	id := spoolMessage(t, data, "a@example.org", []string{"x@example.net"}, time.Now())
	st, err := spool.Open(filepath.Join(data, "queue"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	q := queue.New(queue.Options{Store: st})
	if _, _, err := q.Recover(); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(data, "posthorn.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lock.Close() })
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	ln, err := control.Listen(filepath.Join(data, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	flushed := make(chan string, 4)
	srv := &http.Server{Handler: control.NewHandler(recordFlush{q, flushed}, nil), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })

	if code, _, stderr := queueRun(t, "hold", id, "--config", cfg); code != 0 {
		t.Fatalf("hold: %s", stderr)
	}
	if list := q.List(); len(list) != 1 || !list[0].Held {
		t.Fatalf("daemon's queue after hold: %+v", list)
	}
	if list := listJSON(t, cfg); len(list) != 1 || !list[0].Held {
		t.Fatalf("list through the daemon: %+v", list)
	}
	if code, _, stderr := queueRun(t, "release", id, "--config", cfg); code != 0 {
		t.Fatalf("release: %s", stderr)
	}
	if code, out, stderr := queueRun(t, "flush", "--config", cfg); code != 0 || !strings.Contains(out, "due now") {
		t.Fatalf("flush = %d %q %s", code, out, stderr)
	}
	if got := <-flushed; got != "" {
		t.Fatalf("flushed %q, want all", got)
	}
	code, _, stderr := queueRun(t, "delete", "0123456789abcdef0123456789abcdef", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "no message") {
		t.Fatalf("unknown id through the daemon = %d %q", code, stderr)
	}
}

// recordFlush passes Flush on to the queue and reports its argument.
type recordFlush struct {
	*queue.Queue
	flushed chan<- string
}

func (r recordFlush) Flush(id string) error {
	r.flushed <- id
	return r.Queue.Flush(id)
}

func TestQueueShowPersonalized(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	st, err := spool.Open(filepath.Join(data, "queue"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.Create(&spool.Envelope{From: "l-bounces@lists.test", Rcpts: []string{"a@example.net", "b@example.net"},
		Arrival: time.Now(), Service: "lists", Personal: "l@lists.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString("Subject: post\r\n\r\nhi\r\n"); err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit()
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := queueRun(t, "show", m.Env.ID, "--config", cfg)
	if code != 0 || !strings.Contains(out, "one copy per recipient, for list l@lists.test") {
		t.Fatalf("show = %d %s %s", code, out, stderr)
	}
}
