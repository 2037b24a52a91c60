package lists

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// holdStranger runs a stranger's post through the chain and holds it.
func (f *fixture) holdStranger(t *testing.T, n int, from string) *HeldPost {
	t.Helper()
	ctx := context.Background()
	p := post(t, from, "From: "+from, "To: "+testList, "Subject: hello",
		fmt.Sprintf("Message-ID: <s%d@example.net>", n), "", "hi", "")
	d := f.chain.Decide(ctx, testList, p)
	if d.Action != Hold || d.ID == 0 {
		t.Fatalf("decision %+v, want a recorded hold", d)
	}
	h, created, err := f.s.Hold(ctx, testList, NewHeld{EnvelopeFrom: from, Subject: "hello", Decision: d,
		Raw: []byte("raw message"), Expires: f.clock.Now().Add(24 * time.Hour)})
	if err != nil || !created {
		t.Fatalf("hold: %v created=%v", err, created)
	}
	return h
}

func TestHoldIsIdempotentAndListed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	h := f.holdStranger(t, 1, "eve@example.net")
	if h.State != HeldWaiting || h.Sender != "eve@example.net" || h.Rule != RuleNonmemberModeration || h.Size != 11 {
		t.Fatalf("held %+v", h)
	}
	again, created, err := f.s.Hold(ctx, testList, NewHeld{Key: h.Key, Decision: Decision{MessageID: h.MessageID}, Raw: []byte("x")})
	if err != nil || created || again.ID != h.ID {
		t.Fatalf("second hold: %+v created=%v %v", again, created, err)
	}
	f.holdStranger(t, 2, "bob@example.net")
	page, err := f.s.Held(ctx, testList, 1, 0)
	if err != nil || len(page) != 1 || page[0].ID != h.ID || page[0].Raw != nil {
		t.Fatalf("page 1: %+v %v", page, err)
	}
	page, err = f.s.Held(ctx, testList, 10, page[0].ID)
	if err != nil || len(page) != 1 || page[0].Sender != "bob@example.net" {
		t.Fatalf("page 2: %+v %v", page, err)
	}
	if n, err := f.s.CountHeld(ctx); err != nil || n != 2 {
		t.Fatalf("count = %d, %v", n, err)
	}
	got, err := f.s.GetHeld(ctx, testList, h.ID)
	if err != nil || string(got.Raw) != "raw message" {
		t.Fatalf("get: %+v %v", got, err)
	}
	var nf *NotFoundError
	if _, err := f.s.GetHeld(ctx, testList, 999); !errors.As(err, &nf) {
		t.Fatalf("missing: %v", err)
	}
}

func TestModerateActions(t *testing.T) {
	t.Parallel()
	for _, a := range []ModAction{ModApprove, ModReject, ModDiscard, ModAcceptAlways, ModDefer} {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.newList(t, nil)
			ctx := context.Background()
			h := f.holdStranger(t, 1, "eve@example.net")
			got, err := f.s.Moderate(ctx, testList, h.ID, a, "off topic", "mod@example.org")
			if err != nil || string(got.Raw) != "raw message" {
				t.Fatalf("moderate: %+v %v", got, err)
			}
			after, err := f.s.GetHeld(ctx, testList, h.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.State != a.state() {
				t.Fatalf("state %s, want %s", after.State, a.state())
			}
			if a == ModDefer {
				if after.Raw == nil || !after.Resolved.IsZero() {
					t.Fatalf("deferred post changed: %+v", after)
				}
				return
			}
			if after.Raw != nil || after.Moderator != "mod@example.org" || after.ModReason != "off topic" || after.Resolved.IsZero() {
				t.Fatalf("resolved post: %+v", after)
			}
			var se *HeldStateError
			if _, err := f.s.Moderate(ctx, testList, h.ID, ModApprove, "", "x"); !errors.As(err, &se) || se.State != a.state() {
				t.Fatalf("second decision: %v", err)
			}
			// accept-always: the next post of the same sender is accepted.
			p := post(t, "eve@example.net", "From: eve@example.net", "To: "+testList, "Subject: again",
				"Message-ID: <s9@example.net>", "", "hi", "")
			d := f.chain.Evaluate(ctx, testList, p)
			if want := a == ModAcceptAlways; (d.Action == Accept) != want {
				t.Fatalf("next post: %s (%s), accept wanted %v", d.Action, d.Reason, want)
			}
		})
	}
}

func TestAcceptAlwaysMember(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	f.addMember(t, "eve@example.net", RoleMember, act(Hold))
	h := f.holdStranger(t, 1, "eve@example.net")
	if !h.Member {
		t.Fatalf("held post of a member: %+v", h)
	}
	if _, err := f.s.Moderate(ctx, testList, h.ID, ModAcceptAlways, "", "mod"); err != nil {
		t.Fatal(err)
	}
	m, err := f.s.GetMember(ctx, testList, "eve@example.net", RoleMember)
	if err != nil || m.Moderation == nil || *m.Moderation != Accept {
		t.Fatalf("member after accept-always: %+v %v", m, err)
	}
	if _, err := f.s.GetMember(ctx, testList, "eve@example.net", RoleNonmember); err == nil {
		t.Fatal("a nonmember row was added for a member")
	}
}

func TestModerateManyAndExpire(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	a := f.holdStranger(t, 1, "a@example.net")
	b := f.holdStranger(t, 2, "b@example.net")
	c := f.holdStranger(t, 3, "c@example.net")
	res, err := f.s.ModerateMany(ctx, testList, []int64{a.ID, 777, a.ID}, ModDiscard, "", "mod")
	if err != nil || len(res) != 3 || res[0].Err != nil || res[0].Post == nil {
		t.Fatalf("bulk: %+v %v", res, err)
	}
	var nf *NotFoundError
	var se *HeldStateError
	if !errors.As(res[1].Err, &nf) || !errors.As(res[2].Err, &se) {
		t.Fatalf("bulk errors: %v, %v", res[1].Err, res[2].Err)
	}
	if _, err := f.s.ModerateMany(ctx, testList, nil, "bless", "", "mod"); err == nil {
		t.Fatal("unknown action accepted")
	}
	exp, err := f.s.ExpireHeld(ctx, f.clock.Now().Add(time.Hour))
	if err != nil || len(exp) != 0 {
		t.Fatalf("early expiry: %+v %v", exp, err)
	}
	exp, err = f.s.ExpireHeld(ctx, f.clock.Now().Add(25*time.Hour))
	if err != nil || len(exp) != 2 || exp[0].ID != b.ID || exp[1].ID != c.ID || string(exp[0].Raw) != "raw message" {
		t.Fatalf("expiry: %+v %v", exp, err)
	}
	if n, err := f.s.CountHeld(ctx); err != nil || n != 0 {
		t.Fatalf("count after expiry = %d, %v", n, err)
	}
	if exp, err := f.s.ExpireHeld(ctx, f.clock.Now().Add(48*time.Hour)); err != nil || len(exp) != 0 {
		t.Fatalf("expired twice: %+v %v", exp, err)
	}
}

func TestHeldNotifiedFlags(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	a := f.holdStranger(t, 1, "a@example.net")
	lists, err := f.s.ListsWithUnnotifiedHeld(ctx)
	if err != nil || len(lists) != 1 || lists[0] != testList {
		t.Fatalf("lists: %v %v", lists, err)
	}
	un, err := f.s.UnnotifiedHeld(ctx, testList, 10)
	if err != nil || len(un) != 1 || un[0].ID != a.ID {
		t.Fatalf("unnotified: %+v %v", un, err)
	}
	if err := f.s.MarkHeldNotified(ctx, []int64{a.ID}); err != nil {
		t.Fatal(err)
	}
	if lists, err := f.s.ListsWithUnnotifiedHeld(ctx); err != nil || len(lists) != 0 {
		t.Fatalf("after mark: %v %v", lists, err)
	}
}
