package listserv

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

// archiver is an Options.Archive that records, and fails while fail is set.
type archiver struct {
	mu    sync.Mutex
	fail  bool
	calls []string // list + "\x00" + raw
}

func (a *archiver) archive(_ context.Context, list string, raw []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, list+"\x00"+string(raw))
	if a.fail {
		return errors.New("archive disk full")
	}
	return nil
}

func (a *archiver) setFail(b bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = b
}

func (a *archiver) n() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls)
}

func (a *archiver) last() (string, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	list, raw, _ := strings.Cut(a.calls[len(a.calls)-1], "\x00")
	return list, raw
}

func TestArchiveOncePerPost(t *testing.T) {
	t.Parallel()
	arch := &archiver{}
	f := newFixture(t, func(o *Options) { o.Archive = arch.archive })
	f.roster(t)
	f.settings(t, func(s *lists.Settings) { s.Footer = "-- {list}" })
	post := postLines("Ann <ann@example.org>", "Deploy", "<a1@example.org>")
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, post...))
	if arch.n() != 1 {
		t.Fatalf("%d archive calls", arch.n())
	}
	list, raw := arch.last()
	if list != testList || !strings.Contains(raw, "List-Id: Wikitech <wikitech-l.lists.example.org>") ||
		!strings.Contains(raw, "Subject: [wikitech-l] Deploy") || !strings.Contains(raw, "-- Wikitech") ||
		!strings.Contains(raw, "List-Unsubscribe: <mailto:wikitech-l-leave@lists.example.org>") || strings.Contains(raw, "token=") {
		t.Fatalf("archived form:\n%s", raw)
	}
	// The same post again (a redelivery): neither distributed nor archived again.
	f.rec.take()
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, post...))
	if arch.n() != 1 || len(f.rec.take()) != 0 {
		t.Fatalf("duplicate archived (%d) or distributed", arch.n())
	}
	if err := f.srv.Tick(context.Background()); err != nil || arch.n() != 1 {
		t.Fatalf("tick: %v, %d calls", err, arch.n())
	}
	// A private archive is an archive too.
	f.settings(t, func(s *lists.Settings) { s.ArchivePolicy = lists.ArchivePolicyPrivate })
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("ann@example.org", "x", "<a3@example.org>")...))
	if arch.n() != 2 {
		t.Fatalf("post of a list with a private archive: %d calls", arch.n())
	}
	// Archiving off for the list (archive_policy none): no call, now or on Tick.
	f.settings(t, func(s *lists.Settings) { s.ArchivePolicy = lists.ArchivePolicyNone })
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("ann@example.org", "x", "<a2@example.org>")...))
	if err := f.srv.Tick(context.Background()); err != nil || arch.n() != 2 {
		t.Fatalf("archived a post of a list without archive: %v, %d calls", err, arch.n())
	}
	if n, err := f.srv.ArchivePending(context.Background()); err != nil || n != 0 {
		t.Fatalf("archive jobs for a list without archive: %d %v", n, err)
	}
}

func TestArchiveErrorDoesNotBlockDistribution(t *testing.T) {
	t.Parallel()
	arch := &archiver{fail: true}
	f := newFixture(t, func(o *Options) { o.Archive = arch.archive })
	f.roster(t)
	ctx := context.Background()
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("ann@example.org", "Deploy", "<a3@example.org>")...))
	if n := len(f.rec.take()); n != 2 {
		t.Fatalf("%d copies distributed despite the archive error", n)
	}
	if n, err := f.srv.ArchivePending(ctx); err != nil || n != 1 || f.srv.ArchiveErrors() != 1 {
		t.Fatalf("pending %d (%v), errors %d", n, err, f.srv.ArchiveErrors())
	}
	if err := f.srv.Tick(ctx); err == nil {
		t.Fatal("tick hid the archive error")
	}
	arch.setFail(false)
	if err := f.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.srv.ArchivePending(ctx); n != 0 || arch.n() != 3 {
		t.Fatalf("pending %d after a good tick, %d calls", n, arch.n())
	}
	if err := f.srv.Tick(ctx); err != nil || arch.n() != 3 {
		t.Fatalf("archived again: %v %d", err, arch.n())
	}
}

func TestArchiveAfterInterruptedDistribution(t *testing.T) {
	t.Parallel()
	arch := &archiver{}
	f := newFixture(t, func(o *Options) { o.Archive = arch.archive })
	f.roster(t)
	post := postLines("ann@example.org", "Deploy", "<a4@example.org>")
	f.rec.setFailAt(1) // the post's one spool file fails
	if res := f.deliver(t, "ann@example.org", []string{testList}, post...); res[0].Err == nil {
		t.Fatal("no error from a failed Submit")
	}
	if arch.n() != 0 {
		t.Fatal("archived before the distribution finished")
	}
	f.rec.setFailAt(0)
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, post...))
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, post...))
	if arch.n() != 1 {
		t.Fatalf("%d archive calls", arch.n())
	}
	if got := f.rec.take(); len(got) != 2 || len(to(got, "bob@example.org")) != 1 {
		t.Fatalf("copies %d", len(got))
	}
}
