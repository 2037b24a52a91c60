package listserv

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/smtperr"
)

func TestSubscribeByRequestWithConfirmation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	request := lists.CompanionAddress(testList, lists.AddrRequest)
	mustOK(t, f.deliver(t, "new@example.net", []string{request}, "From: New <new@example.net>", "To: "+request,
		"Subject: subscribe", "Message-ID: <s1@example.net>", "", ""))
	msgs := f.rec.take()
	var confirm *sent
	for i, m := range msgs {
		if strings.HasPrefix(m.msg.Header.Get("Subject"), "confirm ") {
			confirm = &msgs[i]
		}
	}
	if len(msgs) != 2 || confirm == nil || confirm.env.Rcpts[0] != "new@example.net" {
		t.Fatalf("want a confirmation request and an answer, got %+v", msgs)
	}
	if _, err := f.db.GetMember(ctx, testList, "new@example.net", lists.RoleMember); err == nil {
		t.Fatal("member before confirming")
	}
	// Replying to the confirmation request goes to name-confirm+TOKEN.
	replyTo := confirm.msg.Header.Get("Reply-To")
	if _, role, tok, _ := lists.ParseAddress(replyTo); role != lists.AddrConfirm || tok == "" {
		t.Fatalf("Reply-To %q", replyTo)
	}
	mustOK(t, f.deliver(t, "new@example.net", []string{replyTo}, "From: new@example.net", "To: "+replyTo,
		"Subject: Re: "+confirm.msg.Header.Get("Subject"), "Message-ID: <s2@example.net>", "", "yes", ""))
	if _, err := f.db.GetMember(ctx, testList, "new@example.net", lists.RoleMember); err != nil {
		t.Fatalf("not a member after confirming: %v", err)
	}
	ans := to(f.rec.take(), "new@example.net")
	if len(ans) != 1 || !strings.Contains(ans[0].body, "now subscribed") {
		t.Fatalf("answer: %+v", ans)
	}
	// Unsubscribe through -leave: only after confirming.
	leave := lists.CompanionAddress(testList, lists.AddrLeave)
	mustOK(t, f.deliver(t, "new@example.net", []string{leave}, "From: new@example.net", "To: "+leave,
		"Subject: bye", "Message-ID: <s3@example.net>", "", ""))
	if _, err := f.db.GetMember(ctx, testList, "new@example.net", lists.RoleMember); err != nil {
		t.Fatalf("unsubscribed by -leave without confirmation: %v", err)
	}
	confirmUnsub(t, f, "new@example.net")
	if _, err := f.db.GetMember(ctx, testList, "new@example.net", lists.RoleMember); err == nil {
		t.Fatal("still a member after confirming -leave")
	}
}

// confirmUnsub finds the confirmation request sent to addr, replies to it
// and checks the answer.
func confirmUnsub(t *testing.T, f *fixture, addr string) {
	t.Helper()
	var req *sent
	msgs := to(f.rec.take(), addr)
	for i, m := range msgs {
		if strings.HasPrefix(m.msg.Header.Get("Subject"), "confirm ") {
			req = &msgs[i]
		}
	}
	if req == nil || !strings.Contains(req.body, "unsubscribe") {
		t.Fatalf("no unsubscribe confirmation request to %s in %+v", addr, msgs)
	}
	replyTo := req.msg.Header.Get("Reply-To")
	mustOK(t, f.deliver(t, addr, []string{replyTo}, "From: "+addr, "To: "+replyTo,
		"Subject: Re: "+req.msg.Header.Get("Subject"), "Message-ID: <c-"+addr+">", "", "yes", ""))
	if ans := to(f.rec.take(), addr); len(ans) != 1 || !strings.Contains(ans[0].body, "was unsubscribed") {
		t.Fatalf("confirm answer: %+v", ans)
	}
}

func TestUnsubscribeByRequestNeedsConfirmation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	ctx := context.Background()
	request := lists.CompanionAddress(testList, lists.AddrRequest)
	// A forged request: the token goes to ann, not to the forger, and ann stays.
	mustOK(t, f.deliver(t, "mallory@example.net", []string{request}, "From: ann@example.org", "To: "+request,
		"Subject: unsubscribe", "Message-ID: <u1@example.net>", "", ""))
	msgs := f.rec.take()
	if len(to(msgs, "mallory@example.net")) != 0 {
		t.Fatalf("something went to the forger: %+v", msgs)
	}
	if _, err := f.db.GetMember(ctx, testList, "ann@example.org", lists.RoleMember); err != nil {
		t.Fatalf("unsubscribed without confirmation: %v", err)
	}
	// Ann asks herself and confirms.
	mustOK(t, f.deliver(t, "ann@example.org", []string{request}, "From: ann@example.org", "To: "+request,
		"Subject: unsubscribe", "Message-ID: <u2@example.org>", "", ""))
	confirmUnsub(t, f, "ann@example.org")
	if _, err := f.db.GetMember(ctx, testList, "ann@example.org", lists.RoleMember); err == nil {
		t.Fatal("still a member after confirming")
	}
}

func TestRequestHelpAndUnknown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	request := lists.CompanionAddress(testList, lists.AddrRequest)
	mustOK(t, f.deliver(t, "x@example.net", []string{request}, "From: x@example.net", "To: "+request,
		"Subject: what is this", "Message-ID: <s4@example.net>", "", "blah", ""))
	ans := f.rec.take()
	if len(ans) != 1 || !strings.Contains(ans[0].body, "No command found") || !strings.Contains(ans[0].body, "unsubscribe") {
		t.Fatalf("answer: %+v", ans)
	}
	// No answer to the null sender.
	mustOK(t, f.deliver(t, "", []string{request}, "From: MAILER-DAEMON@example.net", "To: "+request,
		"Subject: help", "Message-ID: <s5@example.net>", "", ""))
	if n := len(f.rec.take()); n != 0 {
		t.Fatalf("%d answers to a bounce", n)
	}
}

func TestOwnerForward(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	owner := lists.CompanionAddress(testList, lists.AddrOwner)
	lines := []string{"From: x@example.net", "To: " + owner, "Subject: question", "Message-ID: <o1@example.net>", "", "hi", ""}
	res := f.deliver(t, "x@example.net", []string{owner}, lines...)
	var se *smtperr.Error
	if !errors.As(res[0].Err, &se) || se.Code != 550 {
		t.Fatalf("list without owner: %v", res[0].Err)
	}
	f.add(t, "owner@example.org", lists.RoleOwner, "")
	mustOK(t, f.deliver(t, "x@example.net", []string{owner}, lines...))
	got := f.rec.take()
	if len(got) != 1 || got[0].env.Rcpts[0] != "owner@example.org" || got[0].msg.Header.Get("Subject") != "question" {
		t.Fatalf("forward: %+v", got)
	}
}

func dsnLines(member, action string) []string {
	bounces := lists.BounceAddress(testList, member)
	return []string{"From: MAILER-DAEMON@mx.example.org", "To: " + bounces, "Subject: Undelivered Mail Returned to Sender",
		"MIME-Version: 1.0", `Content-Type: multipart/report; report-type=delivery-status; boundary="b"`, "",
		"--b", "Content-Type: text/plain", "", "could not deliver", "",
		"--b", "Content-Type: message/delivery-status", "", "Reporting-MTA: dns; mx.example.org", "",
		"Final-Recipient: rfc822; " + member, "Action: " + action, "Status: 5.1.1", "", "--b--", ""}
}

func TestBouncesDisableAfterThreshold(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.BounceThreshold = 3 })
	f.roster(t)
	ctx := context.Background()
	bob := "bob@example.org"
	bounce := func() {
		t.Helper()
		mustOK(t, f.deliver(t, "", []string{lists.BounceAddress(testList, bob)}, dsnLines(bob, "failed")...))
	}
	bounce()
	bounce() // same day: one point
	if n, err := f.srv.BounceScore(ctx, testList, bob); err != nil || n != 1 {
		t.Fatalf("score %d, %v", n, err)
	}
	// A delay report is not a failure.
	f.clock.Advance(24 * time.Hour)
	mustOK(t, f.deliver(t, "", []string{lists.BounceAddress(testList, bob)}, dsnLines(bob, "delayed")...))
	if n, _ := f.srv.BounceScore(ctx, testList, bob); n != 1 {
		t.Fatalf("score after delay report %d", n)
	}
	bounce()
	m, _ := f.db.GetMember(ctx, testList, bob, lists.RoleMember)
	if m.Delivery != lists.DeliveryEnabled {
		t.Fatalf("disabled at score 2: %s", m.Delivery)
	}
	f.clock.Advance(24 * time.Hour)
	bounce()
	m, _ = f.db.GetMember(ctx, testList, bob, lists.RoleMember)
	if m.Delivery != lists.DeliveryDisabledBounce {
		t.Fatalf("delivery %s after 3 bounce days", m.Delivery)
	}
	msgs := f.rec.take()
	if len(to(msgs, "owner@example.org")) != 1 || len(to(msgs, bob)) != 1 {
		t.Fatalf("disable notices: %+v", msgs)
	}
	// Bob no longer gets posts.
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("ann@example.org", "x", "<b1@example.org>")...))
	if c := countPerMember(f.rec.take()); c[bob] != 0 || c["ann@example.org"] != 1 {
		t.Fatalf("copies after disabling: %v", c)
	}
	// Old points are forgotten after the window.
	f.clock.Advance(30 * 24 * time.Hour)
	if n, _ := f.srv.BounceScore(ctx, testList, bob); n != 0 {
		t.Fatalf("score after the window %d", n)
	}
	// Bounces for strangers and notices (no VERP member) are dropped.
	mustOK(t, f.deliver(t, "", []string{lists.BounceAddress(testList, "nobody@example.org"),
		lists.CompanionAddress(testList, lists.AddrBounces)}, dsnLines("nobody@example.org", "failed")...))
}
