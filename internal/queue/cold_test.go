package queue

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/testutil"
)

// slowRetries makes every retry wait an hour (unless flushed).
func (e *env) slowRetries() {
	p := *e.q.pol.Load()
	p.RetrySchedule = []time.Duration{time.Hour}
	e.q.SetPolicy(p)
}

// isCold reports whether id's item has dropped its message.
func (e *env) isCold(id string) bool {
	e.q.mu.Lock()
	defer e.q.mu.Unlock()
	it, ok := e.q.items[id]
	return ok && it.msg == nil && it.place == inRetry
}

// waitCold waits (bounded) until id is cold in the retry heap.
func (e *env) waitCold(id string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !e.isCold(id) {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s never went cold: %+v", id, e.q.List())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestDeferredMessagesGoCold: a deferred message keeps nothing but its
// schedule in memory; listing, showing, holding and retrying read it back
// from the spool (here the journal, then its own file), and it is
// delivered once the upstream takes it.
func TestDeferredMessagesGoCold(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.SetScript(testutil.Script{Rcpt: func(string) error { return smtperr.New(451, [3]int{4, 3, 0}, "not now") }})
	e := start(t, setup{upstreams: []string{up.Addr()}, journal: true})
	e.slowRetries()
	id := e.submit("alice@example.org", "bob@example.net")
	e.waitCold(id)

	l := e.q.List()
	if len(l) != 1 || l[0].ID != id || l[0].From != "alice@example.org" || l[0].Recipients[0].Attempts != 1 ||
		!strings.Contains(l[0].Recipients[0].LastError, "not now") || l[0].NextAttempt.IsZero() {
		t.Fatalf("list of a cold message: %+v", l)
	}
	d, err := e.q.Show(id)
	if err != nil || !strings.Contains(d.Headers, "Subject: test "+id) {
		t.Fatalf("show of a cold message: %+v %v", d, err)
	}
	if n, oldest := e.q.Stats(); n != 1 || oldest.IsZero() {
		t.Fatalf("stats: %d %v", n, oldest)
	}
	if err := e.q.Hold(id); err != nil {
		t.Fatal(err)
	}
	if err := e.q.Release(id); err != nil {
		t.Fatal(err)
	}
	e.waitAttempts(id, 2)
	e.waitCold(id)

	up.SetScript(testutil.Script{})
	if err := e.q.Flush(""); err != nil {
		t.Fatal(err)
	}
	up.Wait(t, 1, 10*time.Second)
	e.waitEmpty()
	if got := up.Messages(); len(got) != 1 || !strings.Contains(string(got[0].Data), "Hello.") {
		t.Fatalf("upstream got %+v", got)
	}
}

// TestColdMessageWhoseFileVanished: a cold message whose file was removed
// behind the daemon's back leaves the queue at its next attempt instead of
// failing forever.
func TestColdMessageWhoseFileVanished(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.SetScript(testutil.Script{Rcpt: func(string) error { return smtperr.New(451, [3]int{4, 3, 0}, "not now") }})
	e := start(t, setup{upstreams: []string{up.Addr()}})
	e.slowRetries()
	id := e.submit("alice@example.org", "bob@example.net")
	e.waitCold(id)
	if err := os.Remove(filepath.Join(e.dir, "queue", id)); err != nil {
		t.Fatal(err)
	}
	if err := e.q.Flush(id); err != nil {
		t.Fatal(err)
	}
	e.waitEmpty()
	if _, err := e.store.Load(id); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("load after: %v", err)
	}
}
