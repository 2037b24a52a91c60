package pickup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/spool"

	"github.com/posthorn/posthorn/internal/testutil"
)

type env struct {
	drop, queue *spool.Store
	quarantine  string
	mu          sync.Mutex
	added       []*spool.Message
	addedCh     chan string
	p           *Pickup
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{quarantine: filepath.Join(dir, "quarantine"), addedCh: make(chan string, 16)}
	var err error
	if e.drop, err = spool.Open(filepath.Join(dir, "maildrop"), e.quarantine, nil); err != nil {
		t.Fatal(err)
	}
	e.drop.SetTempGrace(time.Hour)
	if e.queue, err = spool.Open(filepath.Join(dir, "queue"), e.quarantine, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.drop.Close(); _ = e.queue.Close() })
	e.p = &Pickup{Drop: e.drop, Queue: e.queue, Add: e.add}
	return e
}

func (e *env) add(m *spool.Message) {
	e.mu.Lock()
	e.added = append(e.added, m)
	e.mu.Unlock()
	e.addedCh <- m.Env.ID
}

func (e *env) addedIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	for _, m := range e.added {
		ids = append(ids, m.Env.ID)
	}
	return ids
}

const body = "Subject: hello\r\n\r\nbody line\r\n"

// drop commits a message to the drop directory as sendmail does.
func drop(t *testing.T, st *spool.Store) *spool.Message {
	t.Helper()
	w, err := st.Create(&spool.Envelope{
		From: "alice@example.org", Rcpts: []string{"bob@example.net", "carol@example.net"},
		Arrival: time.Now().UTC().Truncate(time.Second), Client: "local", Service: "uid:1000",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString(body); err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readBody(t *testing.T, st *spool.Store, id string) string {
	t.Helper()
	m, err := st.Load(id)
	if err != nil {
		t.Fatal(err)
	}
	return testutil.SpoolBody(t, st, m)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestOnceMovesDropFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m1, m2 := drop(t, e.drop), drop(t, e.drop)
	n, err := e.p.Once()
	if err != nil || n != 2 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	for _, m := range []*spool.Message{m1, m2} {
		if exists(filepath.Join(e.drop.Dir(), m.Env.ID)) {
			t.Errorf("%s still in the drop directory", m.Env.ID)
		}
		if got := readBody(t, e.queue, m.Env.ID); got != body {
			t.Errorf("%s body = %q", m.Env.ID, got)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.added) != 2 {
		t.Fatalf("added %d messages", len(e.added))
	}
	for _, a := range e.added {
		if a.Env.From != "alice@example.org" || len(a.Env.Rcpts) != 2 || a.Env.Service != "uid:1000" ||
			len(a.State.Rcpts) != 2 || a.State.Rcpts[0].Status != spool.Pending || a.BodyLen != int64(len(body)) {
			t.Errorf("added message = %+v", a)
		}
	}
	if n, err := e.p.Once(); err != nil || n != 0 {
		t.Fatalf("second Once = %d, %v", n, err)
	}
}

func TestRunScansAtStartAndOnPoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.p.Interval = time.Hour // only the start and Poke can find anything
	first := drop(t, e.drop)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	wait := func(want string) {
		t.Helper()
		select {
		case id := <-e.addedCh:
			if id != want {
				t.Fatalf("added %s, want %s", id, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not picked up", want)
		}
	}
	wait(first.Env.ID)
	second := drop(t, e.drop)
	e.p.Poke()
	e.p.Poke() // never blocks, even when a poke is pending
	wait(second.Env.ID)
	if !exists(filepath.Join(e.queue.Dir(), second.Env.ID)) {
		t.Fatal("second message not in the queue")
	}
}

func TestCorruptDropFileQuarantined(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := drop(t, e.drop)
	path := filepath.Join(e.drop.Dir(), m.Env.ID)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("body line"))
	data[i] = 'B' // body checksum no longer matches
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := e.p.Once()
	if err != nil || n != 0 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	if exists(path) || exists(filepath.Join(e.queue.Dir(), m.Env.ID)) {
		t.Fatal("corrupt file not moved away, or queued")
	}
	if !exists(filepath.Join(e.quarantine, m.Env.ID)) {
		t.Fatal("corrupt file not in quarantine")
	}
	if len(e.addedIDs()) != 0 {
		t.Fatal("corrupt message added")
	}
}

func TestPartialDropFileLeftAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w, err := e.drop.Create(&spool.Envelope{From: "a@example.org", Rcpts: []string{"b@example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString(body); err != nil {
		t.Fatal(err)
	}
	if n, err := e.p.Once(); err != nil || n != 0 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	// sendmail is still writing: its commit must still succeed.
	if _, err := w.Commit(); err != nil {
		t.Fatalf("commit after a pickup pass: %v", err)
	}
	if n, err := e.p.Once(); err != nil || n != 1 {
		t.Fatalf("Once after commit = %d, %v", n, err)
	}
}

func TestCopyForFilesOfOtherUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := drop(t, e.drop)
	e.p.init()
	qm, err := e.p.copy(m)
	if err != nil {
		t.Fatal(err)
	}
	if qm.Env.ID != m.Env.ID || qm.Env.From != m.Env.From || !qm.Env.Arrival.Equal(m.Env.Arrival) {
		t.Fatalf("copied envelope = %+v", qm.Env)
	}
	if exists(filepath.Join(e.drop.Dir(), m.Env.ID)) {
		t.Fatal("drop file left after copy")
	}
	if got := readBody(t, e.queue, m.Env.ID); got != body {
		t.Fatalf("copied body = %q", got)
	}
}

func TestLeftoverOfCommittedCopyRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := drop(t, e.drop)
	// A crash after the queue copy was committed, before the drop file was
	// removed: both directories hold the message.
	data, err := os.ReadFile(filepath.Join(e.drop.Dir(), m.Env.ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.queue.Dir(), m.Env.ID), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := e.p.Once(); err != nil || n != 1 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	if exists(filepath.Join(e.drop.Dir(), m.Env.ID)) {
		t.Fatal("leftover drop file not removed")
	}
	if got := readBody(t, e.queue, m.Env.ID); got != body {
		t.Fatalf("queued body = %q", got)
	}
}
