package listserv

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/smtperr"
)

const bob = "bob@example.org"

// probeFixture has probes on and a threshold of one bounce; events
// collects the mail log.
func probeFixture(t *testing.T) (*fixture, *events) {
	t.Helper()
	ev := &events{}
	f := newFixture(t, func(o *Options) {
		o.BounceThreshold, o.BounceProbes = 1, true
		o.MailLog = maillog.New(o.Logger, maillog.SinkFunc(ev.add))
	})
	f.roster(t)
	return f, ev
}

type events struct {
	mu  sync.Mutex
	all []maillog.Event
}

func (e *events) add(ev maillog.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) find(kind maillog.Kind, action string) []maillog.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []maillog.Event
	for _, ev := range e.all {
		if ev.Kind == kind && ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

// bounceTo delivers a failure report (action "failed") or a delay warning
// (action "delayed") for member to the return path rcpt.
func (f *fixture) bounceTo(t *testing.T, rcpt, member, action string) error {
	t.Helper()
	lines := dsnLines(member, action)
	lines[1] = "To: " + rcpt
	return f.deliver(t, "", []string{rcpt}, lines...)[0].Err
}

// probes returns the probes among msgs: their return paths and recipients.
func probes(t *testing.T, msgs []sent) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range msgs {
		list, role, extra, _ := lists.ParseAddress(m.env.From)
		if _, ok := lists.ProbeToken(extra); ok && role == lists.AddrBounces && list == testList {
			out[m.env.From] = strings.Join(m.env.Rcpts, ",")
		}
	}
	return out
}

func (f *fixture) delivery(t *testing.T, addr string) lists.Delivery {
	t.Helper()
	m, err := f.db.GetMember(context.Background(), testList, addr, lists.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	return m.Delivery
}

// sendProbe bounces bob to the threshold and returns the probe's return path.
func sendProbe(t *testing.T, f *fixture) string {
	t.Helper()
	if err := f.bounceTo(t, lists.BounceAddress(testList, bob), bob, "failed"); err != nil {
		t.Fatal(err)
	}
	msgs := f.rec.take()
	p := probes(t, msgs)
	if len(p) != 1 || len(msgs) != 1 {
		t.Fatalf("want one probe and nothing else, got probes %v of %d messages", p, len(msgs))
	}
	for from, rcpt := range p {
		if rcpt != bob {
			t.Fatalf("probe to %s", rcpt)
		}
		if !strings.Contains(msgs[0].body, "need not do anything") {
			t.Errorf("probe text: %s", msgs[0].body)
		}
		return from
	}
	return ""
}

func TestProbeBouncedDisables(t *testing.T) {
	t.Parallel()
	f, ev := probeFixture(t)
	probe := sendProbe(t, f)
	if d := f.delivery(t, bob); d != lists.DeliveryEnabled {
		t.Fatalf("delivery %s while the probe waits", d)
	}
	// A delay warning for the probe is no failure: still waiting.
	if err := f.bounceTo(t, probe, bob, "delayed"); err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(t, bob); d != lists.DeliveryEnabled {
		t.Fatalf("delivery %s after a delay warning for the probe", d)
	}
	f.clock.Advance(time.Hour)
	if err := f.bounceTo(t, probe, bob, "failed"); err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(t, bob); d != lists.DeliveryDisabledBounce {
		t.Fatalf("delivery %s after the probe bounced", d)
	}
	msgs := f.rec.take()
	if len(to(msgs, "owner@example.org")) != 1 || len(to(msgs, bob)) != 1 || len(msgs) != 2 {
		t.Fatalf("disable notices: %d messages", len(msgs))
	}
	if len(ev.find(maillog.Notice, "list-bounce-probe")) != 1 || len(ev.find(maillog.Notice, "list-bounce-disabled")) != 2 {
		t.Errorf("mail log: %+v", ev.all)
	}
	// The probe is used: a second bounce to it is dropped, even after bob
	// was enabled again.
	if err := f.db.SetDelivery(context.Background(), testList, bob, lists.DeliveryEnabled); err != nil {
		t.Fatal(err)
	}
	if err := f.bounceTo(t, probe, bob, "failed"); err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(t, bob); d != lists.DeliveryEnabled || len(f.rec.take()) != 0 {
		t.Fatalf("used probe acted: delivery %s", d)
	}
}

func TestProbeWithoutBounceClearsScore(t *testing.T) {
	t.Parallel()
	f, ev := probeFixture(t)
	ctx := context.Background()
	probe := sendProbe(t, f)
	f.clock.Advance(3*24*time.Hour - time.Minute)
	if err := f.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.srv.BounceScore(ctx, testList, bob); n != 1 {
		t.Fatalf("score %d before the probe's time is up", n)
	}
	f.clock.Advance(2 * time.Minute)
	if err := f.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.srv.BounceScore(ctx, testList, bob); n != 0 {
		t.Fatalf("score %d after the probe passed", n)
	}
	if d := f.delivery(t, bob); d != lists.DeliveryEnabled {
		t.Fatalf("delivery %s after the probe passed", d)
	}
	if got := ev.find(maillog.Operator, "bounce-probe-passed"); len(got) != 1 || got[0].Rcpt != bob || got[0].List != testList {
		t.Fatalf("mail log: %+v", got)
	}
	// A late bounce to the expired probe is dropped.
	if err := f.bounceTo(t, probe, bob, "failed"); err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(t, bob); d != lists.DeliveryEnabled || len(f.rec.take()) != 0 {
		t.Fatalf("expired probe acted: delivery %s", d)
	}
	// The next bounce at the threshold sends a new probe.
	f.clock.Advance(24 * time.Hour)
	if again := sendProbe(t, f); again == probe {
		t.Fatal("token reused")
	}
}

func TestProbeOnePerMember(t *testing.T) {
	t.Parallel()
	f, _ := probeFixture(t)
	ctx := context.Background()
	sendProbe(t, f)
	f.clock.Advance(24 * time.Hour)
	if err := f.bounceTo(t, lists.BounceAddress(testList, bob), bob, "failed"); err != nil {
		t.Fatal(err)
	}
	if msgs := f.rec.take(); len(msgs) != 0 {
		t.Fatalf("second bounce sent %d messages", len(msgs))
	}
	if n, _ := f.srv.BounceScore(ctx, testList, bob); n != 2 {
		t.Fatalf("score %d: the second bounce still counts", n)
	}
	if d := f.delivery(t, bob); d != lists.DeliveryEnabled {
		t.Fatalf("delivery %s", d)
	}
	// Another member gets a probe of their own.
	if err := f.bounceTo(t, lists.BounceAddress(testList, "ann@example.org"), "ann@example.org", "failed"); err != nil {
		t.Fatal(err)
	}
	if p := probes(t, f.rec.take()); len(p) != 1 {
		t.Fatalf("ann's probes: %v", p)
	}
}

func TestProbesOffDisablesAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.BounceThreshold = 1 })
	f.roster(t)
	if err := f.bounceTo(t, lists.BounceAddress(testList, bob), bob, "failed"); err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(t, bob); d != lists.DeliveryDisabledBounce {
		t.Fatalf("delivery %s", d)
	}
	msgs := f.rec.take()
	if p := probes(t, msgs); len(p) != 0 || len(to(msgs, "owner@example.org")) != 1 {
		t.Fatalf("probes %v, %d messages", p, len(msgs))
	}
}

// TestProbeUnknownToken: a bounce to a probe address nobody sent is
// dropped; a member whose address looks like a probe is scored as a member.
func TestProbeUnknownToken(t *testing.T) {
	t.Parallel()
	f, _ := probeFixture(t)
	ctx := context.Background()
	const tok = "00112233445566778899aabbccddeeff"
	if err := f.bounceTo(t, lists.ProbeAddress(testList, tok), bob, "failed"); err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(t, bob); d != lists.DeliveryEnabled || len(f.rec.take()) != 0 {
		t.Fatalf("unknown probe acted: delivery %s", d)
	}
	if n, _ := f.srv.BounceScore(ctx, testList, bob); n != 0 {
		t.Fatalf("unknown probe scored %d", n)
	}
	odd := "probe-" + tok + "@example.org"
	f.add(t, odd, lists.RoleMember, "")
	if err := f.bounceTo(t, lists.BounceAddress(testList, odd), odd, "failed"); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.srv.BounceScore(ctx, testList, odd); n != 1 {
		t.Fatalf("member %s scored %d", odd, n)
	}
	if p := probes(t, f.rec.take()); len(p) != 1 {
		t.Fatalf("probes for %s: %v", odd, p)
	}
}

// TestProbeSubmitFails: when the probe cannot be queued the bounce is
// retried, and the retry sends the probe.
func TestProbeSubmitFails(t *testing.T) {
	t.Parallel()
	f, _ := probeFixture(t)
	f.rec.setFailAt(1)
	err := f.bounceTo(t, lists.BounceAddress(testList, bob), bob, "failed")
	var se *smtperr.Error
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("bounce with a failing Submit: %v", err)
	}
	f.rec.setFailAt(0)
	sendProbe(t, f)
}
