package queue

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/testutil"
)

type env struct {
	t     *testing.T
	dir   string
	store *spool.Store
	q     *Queue
	stop  func()
}

type setup struct {
	upstreams    []string
	lifetime     time.Duration
	delayWarning time.Duration
	dir          string
	mlog         *maillog.Log
	dataTimeout  time.Duration
	personalizer Personalizer
	journal      bool // spool in SyncJournal mode
}

func start(t *testing.T, s setup) *env {
	t.Helper()
	if s.dir == "" {
		s.dir = t.TempDir()
	}
	store, err := spool.Open(filepath.Join(s.dir, "queue"), filepath.Join(s.dir, "quarantine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.journal {
		if err := store.SetSyncMode(spool.SyncJournal); err != nil {
			t.Fatal(err)
		}
	}
	var ups []courier.Upstream
	for _, a := range s.upstreams {
		ups = append(ups, courier.Upstream{Addr: a, TLS: courier.TLSNone})
	}
	c := courier.New(courier.Options{
		Hostname: "relay.test", Upstreams: ups,
		ConnectTimeout: time.Second, CommandTimeout: 2 * time.Second, DataTimeout: cmp.Or(s.dataTimeout, 2*time.Second),
		DownBackoff: 20 * time.Millisecond, DownBackoffMax: 50 * time.Millisecond,
	})
	if s.lifetime == 0 {
		s.lifetime = time.Hour
	}
	q := New(Options{
		Store: store, Courier: c, Hostname: "relay.test",
		RetrySchedule: []time.Duration{30 * time.Millisecond},
		MaxLifetime:   s.lifetime, DelayWarning: s.delayWarning, Concurrency: 4,
		Jitter:  func(d time.Duration) time.Duration { return d },
		MailLog: s.mlog, Personalizer: s.personalizer,
	})
	if _, _, err := q.Recover(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); q.Run(ctx, ctx) }()
	e := &env{t: t, dir: s.dir, store: store, q: q}
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			c.Close()
			store.Close()
		})
	}
	t.Cleanup(e.stop)
	return e
}

func (e *env) submit(from string, rcpts ...string) string {
	e.t.Helper()
	w, err := e.q.Create(&spool.Envelope{From: from, Rcpts: rcpts, Arrival: time.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(w, "From: <%s>\r\nSubject: test %s\r\nMessage-ID: <%s@test>\r\n\r\nHello.\r\n", from, w.ID(), w.ID())
	m, err := e.q.Commit(w)
	if err != nil {
		e.t.Fatal(err)
	}
	return m.Env.ID
}

// waitEmpty waits (bounded) until the queue holds no message.
func (e *env) waitEmpty() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.q.Len() > 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("queue not empty: %+v", e.q.List())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) waitAttempts(id string, n int) Summary {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range e.q.List() {
			if s.ID == id && !s.InFlight && s.Recipients[0].Attempts >= n {
				return s
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s never reached %d attempts: %+v", id, n, e.q.List())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeliverAndRemove(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	e := start(t, setup{upstreams: []string{up.Addr()}})
	id := e.submit("alice@example.org", "bob@example.net", "carol@example.net")
	got := up.Wait(t, 1, 10*time.Second)
	if len(got[0].Rcpts) != 2 || !strings.Contains(string(got[0].Data), id) {
		t.Fatalf("upstream got %+v", got[0])
	}
	e.waitEmpty()
	if _, err := e.store.Load(id); err == nil {
		t.Fatal("delivered message still in the spool")
	}
}

func TestFailoverToSecondary(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	e := start(t, setup{upstreams: []string{testutil.ClosedAddr(t), up.Addr()}})
	e.submit("alice@example.org", "bob@example.net")
	up.Wait(t, 1, 10*time.Second)
	e.waitEmpty()
}

func TestBothDownThenOneReturns(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.Stop()
	e := start(t, setup{upstreams: []string{testutil.ClosedAddr(t), up.Addr()}})
	id := e.submit("alice@example.org", "bob@example.net")
	s := e.waitAttempts(id, 2)
	if s.Recipients[0].State != "pending" || s.Recipients[0].LastError == "" {
		t.Fatalf("after failed attempts: %+v", s)
	}
	up.Start()
	up.Wait(t, 1, 10*time.Second)
	e.waitEmpty()
}

func TestPermanentFailureBouncesThatRecipientOnly(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.SetScript(testutil.Script{Rcpt: func(r string) error {
		if r == "nobody@example.net" {
			return smtperr.New(550, [3]int{5, 1, 1}, "no such user")
		}
		return nil
	}})
	e := start(t, setup{upstreams: []string{up.Addr()}})
	id := e.submit("alice@example.org", "bob@example.net", "nobody@example.net")
	msgs := up.Wait(t, 2, 10*time.Second)
	e.waitEmpty()
	var orig, bounce *testutil.Received
	for i := range msgs {
		if msgs[i].From == "" {
			bounce = &msgs[i]
		} else {
			orig = &msgs[i]
		}
	}
	if orig == nil || len(orig.Rcpts) != 1 || orig.Rcpts[0] != "bob@example.net" {
		t.Fatalf("original delivery: %+v", orig)
	}
	if bounce == nil || len(bounce.Rcpts) != 1 || bounce.Rcpts[0] != "alice@example.org" {
		t.Fatalf("bounce: %+v", bounce)
	}
	b := string(bounce.Data)
	for _, want := range []string{"multipart/report", "Final-Recipient: rfc822; nobody@example.net", "Status: 5.1.1", id} {
		if !strings.Contains(b, want) {
			t.Errorf("bounce lacks %q", want)
		}
	}
	if strings.Contains(b, "Final-Recipient: rfc822; bob@example.net") {
		t.Error("bounce names the delivered recipient")
	}
	if len(up.Messages()) != 2 {
		t.Fatalf("expected exactly the delivery and one bounce, got %d messages", len(up.Messages()))
	}
}

func TestNullSenderNeverBounces(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.SetScript(testutil.Script{Rcpt: func(string) error { return smtperr.New(550, [3]int{5, 1, 1}, "no") }})
	e := start(t, setup{upstreams: []string{up.Addr()}})
	e.submit("", "nobody@example.net")
	e.waitEmpty()
	if n := len(up.Messages()); n != 0 {
		t.Fatalf("upstream received %d messages, want none", n)
	}
}

func TestLifetimeExpiryBounces(t *testing.T) {
	t.Parallel()
	up := slowUpstream(t)
	e := start(t, setup{upstreams: []string{up.Addr()}, lifetime: 200 * time.Millisecond})
	e.submit("alice@example.org", "slow@example.net")
	got := up.Wait(t, 1, 10*time.Second)
	e.waitEmpty()
	b := string(got[0].Data)
	if got[0].From != "" || got[0].Rcpts[0] != "alice@example.org" || !strings.Contains(b, "Action: failed") ||
		!strings.Contains(b, "451 4.3.0") || !strings.Contains(b, "Status: 5.4.7") {
		t.Fatalf("expiry bounce: %+v\n%s", got[0], b)
	}
}

func TestDelayWarningOnce(t *testing.T) {
	t.Parallel()
	up := slowUpstream(t)
	e := start(t, setup{upstreams: []string{up.Addr()}, delayWarning: 50 * time.Millisecond})
	id := e.submit("alice@example.org", "slow@example.net")
	got := up.Wait(t, 1, 10*time.Second)
	if !strings.Contains(string(got[0].Data), "Action: delayed") {
		t.Fatalf("not a delay notice:\n%s", got[0].Data)
	}
	e.waitAttempts(id, 6)
	if n := len(up.Messages()); n != 1 {
		t.Fatalf("%d notices, want exactly one", n)
	}
}

func TestRestartRecoversQueue(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.Stop()
	dir := t.TempDir()
	e := start(t, setup{upstreams: []string{up.Addr()}, dir: dir})
	id := e.submit("alice@example.org", "bob@example.net", "carol@example.net")
	e.waitAttempts(id, 1)
	e.stop()

	up.Start()
	e2 := start(t, setup{upstreams: []string{up.Addr()}, dir: dir})
	got := up.Wait(t, 1, 10*time.Second)
	if len(got[0].Rcpts) != 2 {
		t.Fatalf("recovered delivery: %+v", got[0])
	}
	e2.waitEmpty()
}

func TestHoldReleaseDelete(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.Stop()
	e := start(t, setup{upstreams: []string{up.Addr()}})
	id := e.submit("alice@example.org", "bob@example.net")
	e.waitAttempts(id, 1)
	if err := e.q.Hold(id); err != nil {
		t.Fatal(err)
	}
	// Held survives a reload of the state from disk.
	waitHeld := time.Now().Add(10 * time.Second)
	for {
		m, err := e.store.Load(id)
		if err != nil {
			t.Fatal(err)
		}
		if m.State.Held {
			break
		}
		if time.Now().After(waitHeld) {
			t.Fatal("hold never persisted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	up.Start()
	other := e.submit("alice@example.org", "dave@example.net")
	up.Wait(t, 1, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for e.q.Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("queue: %+v", e.q.List())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := up.Messages(); len(got) != 1 || got[0].Rcpts[0] != "dave@example.net" {
		t.Fatalf("held message was delivered: %+v", got)
	}
	_ = other
	if err := e.q.Release(id); err != nil {
		t.Fatal(err)
	}
	up.Wait(t, 2, 10*time.Second)
	e.waitEmpty()

	up.Stop()
	id3 := e.submit("alice@example.org", "erin@example.net")
	e.waitAttempts(id3, 1)
	if err := e.q.Delete(id3); err != nil {
		t.Fatal(err)
	}
	e.waitEmpty()
	if _, err := e.store.Load(id3); err == nil {
		t.Fatal("deleted message still on disk")
	}
	if err := e.q.Delete("0123456789abcdef0123456789abcdef"); err == nil {
		t.Fatal("deleting an unknown id succeeded")
	}
}

// A large backlog of due retries does not starve fresh mail: pick
// alternates between them.
func TestFreshNotStarvedByRetries(t *testing.T) {
	t.Parallel()
	q := New(Options{})
	past := time.Now().Add(-time.Hour)
	for i := 0; i < 1000; i++ {
		m := &spool.Message{Env: spool.Envelope{ID: fmt.Sprintf("r%031d", i)}}
		m.State.NextAttempt = past
		q.add(m)
	}
	for i := 0; i < 10; i++ {
		q.add(&spool.Message{Env: spool.Envelope{ID: fmt.Sprintf("f%031d", i)}})
	}
	fresh := 0
	for i := 0; i < 20; i++ {
		it, _ := q.pick(time.Now())
		if it == nil {
			t.Fatal("nothing picked")
		}
		if it.id[0] == 'f' {
			fresh++
		}
	}
	if fresh != 10 {
		t.Fatalf("in 20 picks with 1000 due retries, %d of 10 fresh messages went out", fresh)
	}
}

// slowUpstream defers slow@example.net with 451 4.3.0 and accepts the rest.
func slowUpstream(t *testing.T) *testutil.Upstream {
	up := testutil.NewUpstream(t)
	up.SetScript(testutil.Script{Rcpt: func(r string) error {
		if r == "slow@example.net" {
			return smtperr.New(451, [3]int{4, 3, 0}, "try later")
		}
		return nil
	}})
	return up
}
