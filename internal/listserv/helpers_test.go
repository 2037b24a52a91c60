package listserv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/testutil"
)

const testList = "wikitech-l@lists.example.org"

// sent is one message given to Submit.
type sent struct {
	env  spool.Envelope
	raw  []byte
	msg  *mail.Message
	body string
}

// recorder is a Submit that records, and fails on cue.
type recorder struct {
	mu    sync.Mutex
	calls int
	// failAt, when > 0, makes the failAt-th call (1-based) and every later
	// one fail until fail is cleared.
	failAt int
	msgs   []sent
	// personalize, when set, expands a personalized submission into the
	// copies its members get at delivery (the queue's job in the daemon).
	personalize func(env *spool.Envelope, rcpt string) (string, []byte, error)
	files       int // successful Submit calls (spool files)
}

var errSubmit = errors.New("spool full")

func (r *recorder) submit(env *spool.Envelope, body io.Reader) (string, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failAt > 0 && r.calls >= r.failAt {
		return "", errSubmit
	}
	r.files++
	if env.Personal == "" || r.personalize == nil {
		return r.record(*env, raw)
	}
	for _, rcpt := range env.Rcpts {
		from, head, err := r.personalize(env, rcpt)
		if err != nil {
			return "", err
		}
		copyEnv := *env
		copyEnv.From, copyEnv.Rcpts, copyEnv.Personal = from, []string{rcpt}, ""
		if _, err := r.record(copyEnv, append(append([]byte(nil), head...), raw...)); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("q%d", len(r.msgs)), nil
}

func (r *recorder) record(env spool.Envelope, raw []byte) (string, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("submitted message does not parse: %w", err)
	}
	b, _ := io.ReadAll(m.Body)
	r.msgs = append(r.msgs, sent{env: env, raw: raw, msg: m, body: string(b)})
	return fmt.Sprintf("q%d", len(r.msgs)), nil
}

func (r *recorder) setFailAt(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failAt, r.calls = n, 0
}

// take returns and forgets the recorded messages.
func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}

// to returns the recorded messages whose envelope goes to rcpt.
func to(msgs []sent, rcpt string) []sent {
	var out []sent
	for _, m := range msgs {
		for _, r := range m.env.Rcpts {
			if strings.EqualFold(r, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

type fixture struct {
	db    *lists.Store
	chain *lists.Chain
	srv   *Server
	rec   *recorder
	clock *testutil.Clock
	dns   *fakeDNS
}

// fakeDNS answers TXT lookups from a map; names not in it do not exist.
type fakeDNS struct {
	mu      sync.Mutex
	txt     map[string][]string
	fail    map[string]bool
	lookups []string
}

func (d *fakeDNS) set(name string, txt ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.txt[name] = txt
}

func (d *fakeDNS) lookupTXT(_ context.Context, name string) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups = append(d.lookups, name)
	if d.fail[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if txt, ok := d.txt[name]; ok {
		return txt, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (d *fakeDNS) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.lookups)
}

func newFixture(t testing.TB, edit func(*Options)) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "lists.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testutil.NewClock(time.Date(2026, 5, 19, 17, 0, 0, 0, time.UTC))
	logger := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	ls, err := lists.New(ctx, db, lists.Options{Secret: []byte("0123456789abcdef-test-secret"), Now: clock.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	chain := lists.NewChain(ls, lists.ChainOptions{})
	rec := &recorder{}
	dns := &fakeDNS{txt: map[string][]string{}, fail: map[string]bool{}}
	opts := Options{Lists: ls, Chain: chain, DB: db, Submit: rec.submit, Hostname: "mx1.example.org",
		SiteURL: "https://lists.example.org", Now: clock.Now, Logger: logger, LookupTXT: dns.lookupTXT}
	if edit != nil {
		edit(&opts)
	}
	srv, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	rec.personalize = srv.Personalize
	if _, err := ls.CreateList(ctx, lists.ListSpec{Address: testList, DisplayName: "Wikitech"}); err != nil {
		t.Fatal(err)
	}
	return &fixture{db: ls, chain: chain, srv: srv, rec: rec, clock: clock, dns: dns}
}

func (f *fixture) add(t testing.TB, addr string, role lists.Role, d lists.Delivery) {
	t.Helper()
	if _, err := f.db.AddMember(context.Background(), testList, lists.NewMember{Address: addr, Role: role, Delivery: d}); err != nil {
		t.Fatal(err)
	}
}

// roster adds the usual members: ann, bob, carol (disabled), an owner and a moderator.
func (f *fixture) roster(t testing.TB) {
	f.add(t, "ann@example.org", lists.RoleMember, "")
	f.add(t, "bob@example.org", lists.RoleMember, "")
	f.add(t, "carol@example.org", lists.RoleMember, lists.DeliveryDisabledSelf)
	f.add(t, "owner@example.org", lists.RoleOwner, "")
	f.add(t, "mod@example.org", lists.RoleModerator, "")
}

// deliver hands one queued message to the server.
func (f *fixture) deliver(t testing.TB, from string, rcpts []string, lines ...string) []courier.Result {
	t.Helper()
	raw := []byte(strings.Join(lines, "\r\n"))
	res := f.srv.Deliver(context.Background(), &courier.Message{ID: "Q1", From: from, Rcpts: rcpts,
		Size: int64(len(raw)), Body: bytes.NewReader(raw)})
	if len(res) != len(rcpts) {
		t.Fatalf("%d results for %d recipients", len(res), len(rcpts))
	}
	return res
}

func postLines(from, subject, msgid string, extra ...string) []string {
	lines := []string{"From: " + from, "To: " + testList, "Subject: " + subject, "Message-ID: " + msgid}
	lines = append(lines, extra...)
	return append(lines, "", "Hello all,", "the deploy is at 20:00.", "")
}

func mustOK(t testing.TB, res []courier.Result) {
	t.Helper()
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Rcpt, r.Err)
		}
	}
}

// settings changes testList's settings.
func (f *fixture) settings(t testing.TB, edit func(*lists.Settings)) {
	t.Helper()
	ctx := context.Background()
	l, err := f.db.GetList(ctx, testList)
	if err != nil {
		t.Fatal(err)
	}
	set := l.Settings
	edit(&set)
	if err := f.db.SetSettings(ctx, testList, set); err != nil {
		t.Fatal(err)
	}
}
