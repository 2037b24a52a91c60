package queue

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/testutil"
)

// verp is a Personalizer like the list server's: a VERP sender and one
// header field naming the member.
type verp struct{ calls atomic.Int64 }

func (v *verp) Personalize(env *spool.Envelope, rcpt string) (string, []byte, error) {
	v.calls.Add(1)
	if strings.HasPrefix(rcpt, "broken") {
		return "", nil, errors.New("no such member")
	}
	local, domain, _ := strings.Cut(rcpt, "@")
	return "list-bounces+" + local + "=" + domain + "@lists.test", []byte("X-Member: " + rcpt + "\r\n"), nil
}

func (e *env) submitPersonal(rcpts []string) string {
	e.t.Helper()
	w, err := e.q.Create(&spool.Envelope{From: "list-bounces@lists.test", Rcpts: rcpts, Arrival: time.Now(),
		Personal: "list@lists.test"})
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(w, "From: <poster@example.org>\r\nSubject: post\r\nMessage-ID: <%s@test>\r\n\r\nHello list.\r\n", w.ID())
	m, err := e.q.Commit(w)
	if err != nil {
		e.t.Fatal(err)
	}
	return m.Env.ID
}

func members(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("m%04d@example.net", i)
	}
	return out
}

func TestPersonalizedOneTransactionPerRecipient(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	e := start(t, setup{upstreams: []string{up.Addr()}, personalizer: &verp{}})
	rcpts := members(600)
	e.submitPersonal(rcpts)
	got := up.Wait(t, len(rcpts), 60*time.Second)
	e.waitEmpty()
	seen := map[string]bool{}
	for _, m := range got {
		if len(m.Rcpts) != 1 {
			t.Fatalf("copy with %d recipients, want one per transaction", len(m.Rcpts))
		}
		r := m.Rcpts[0]
		if seen[r] {
			t.Fatalf("%s got two copies", r)
		}
		seen[r] = true
		local, domain, _ := strings.Cut(r, "@")
		if want := "list-bounces+" + local + "=" + domain + "@lists.test"; m.From != want {
			t.Fatalf("copy for %s has sender %q, want %q", r, m.From, want)
		}
		if !strings.HasPrefix(string(m.Data), "X-Member: "+r+"\r\n") || !strings.Contains(string(m.Data), "\r\n\r\nHello list.\r\n") {
			t.Fatalf("copy for %s:\n%s", r, m.Data)
		}
	}
	if len(seen) != len(rcpts) {
		t.Fatalf("%d members got a copy, want %d", len(seen), len(rcpts))
	}
}

func TestPersonalizedBounceGoesToThatCopysSender(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.SetScript(testutil.Script{Rcpt: func(r string) error {
		if r == "m0001@example.net" {
			return smtperr.New(550, [3]int{5, 1, 1}, "no such user")
		}
		return nil
	}})
	e := start(t, setup{upstreams: []string{up.Addr()}, personalizer: &verp{}})
	e.submitPersonal(members(3))
	got := up.Wait(t, 3, 10*time.Second) // two copies and one bounce
	e.waitEmpty()
	var bounces int
	for _, m := range got {
		if m.From != "" {
			continue
		}
		bounces++
		if len(m.Rcpts) != 1 || m.Rcpts[0] != "list-bounces+m0001=example.net@lists.test" {
			t.Fatalf("bounce went to %v, want the failed member's VERP address", m.Rcpts)
		}
		b := string(m.Data)
		if !strings.Contains(b, "Final-Recipient: rfc822; m0001@example.net") || strings.Contains(b, "m0000@example.net") {
			t.Fatalf("bounce:\n%s", b)
		}
	}
	if bounces != 1 || len(up.Messages()) != 3 {
		t.Fatalf("%d bounces among %d messages, want 1 among 3", bounces, len(up.Messages()))
	}
}

func TestPersonalizeFailureDefers(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	e := start(t, setup{upstreams: []string{up.Addr()}, personalizer: &verp{}})
	id := e.submitPersonal([]string{"broken@example.net", "m0000@example.net"})
	up.Wait(t, 1, 10*time.Second)
	s := e.waitAttempts(id, 2)
	if len(s.Recipients) != 2 || s.Recipients[0].Addr != "broken@example.net" || s.Recipients[0].State != "pending" ||
		!strings.Contains(s.Recipients[0].LastError, "no such member") || s.Recipients[1].State != "delivered" {
		t.Fatalf("after attempts: %+v", s)
	}
	if n := len(up.Messages()); n != 1 {
		t.Fatalf("upstream got %d messages, want only the good member's copy (no bounce for a local failure)", n)
	}
}

func TestPersonalWithoutPersonalizerDefers(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	e := start(t, setup{upstreams: []string{up.Addr()}})
	id := e.submitPersonal(members(2))
	s := e.waitAttempts(id, 1)
	for _, r := range s.Recipients {
		if r.State != "pending" || !strings.Contains(r.LastError, "no personalizer") {
			t.Fatalf("recipient %+v", r)
		}
	}
	if n := len(up.Messages()); n != 0 {
		t.Fatalf("upstream got %d messages without personalization", n)
	}
}

// TestPersonalizedCheckpoints stops the upstream in the middle of a long
// attempt and reads the spool file: the recipients delivered before the
// last checkpoint are saved as delivered, so a crash now would not repeat
// them.
func TestPersonalizedCheckpoints(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	reached := make(chan struct{})
	release := make(chan struct{})
	up.SetScript(testutil.Script{Rcpt: func(r string) error {
		if r == "m0300@example.net" {
			close(reached)
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		return nil
	}})
	e := start(t, setup{upstreams: []string{up.Addr()}, personalizer: &verp{}})
	id := e.submitPersonal(members(400))
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		t.Fatal("upstream never reached the 301st member")
	}
	m, err := e.store.Load(id)
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	delivered := 0
	for i, r := range m.State.Rcpts {
		if r.Status == spool.Delivered {
			delivered++
			if i >= 300 {
				t.Errorf("recipient %d saved as delivered before it was attempted", i)
			}
		}
	}
	if delivered != checkpointEvery {
		t.Fatalf("%d recipients saved as delivered mid-attempt, want %d", delivered, checkpointEvery)
	}
	up.Wait(t, 400, 30*time.Second)
	e.waitEmpty()
}
