package listserv

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// confirmRequest returns the token of the one confirmation request in
// msgs, sent to addr, and checks how it reaches the address.
func confirmRequest(t *testing.T, f *fixture, msgs []sent, addr string) string {
	t.Helper()
	if len(msgs) != 1 || len(msgs[0].env.Rcpts) != 1 || msgs[0].env.Rcpts[0] != addr {
		t.Fatalf("want one confirmation request to %s, got %+v", addr, msgs)
	}
	m := msgs[0]
	tok, ok := strings.CutPrefix(m.msg.Header.Get("Subject"), "confirm ")
	if !ok || tok == "" {
		t.Fatalf("subject %q", m.msg.Header.Get("Subject"))
	}
	l, err := f.db.GetList(context.Background(), testList)
	if err != nil {
		t.Fatal(err)
	}
	link := f.srv.ConfirmURL(l, tok)
	if link != "https://lists.example.org/lists/"+testList+"/confirm/"+tok || !strings.Contains(m.body, link) {
		t.Fatalf("link %q not in\n%s", link, m.body)
	}
	if m.msg.Header.Get("Reply-To") != lists.ConfirmAddress(testList, tok) {
		t.Fatalf("Reply-To %q", m.msg.Header.Get("Reply-To"))
	}
	return tok
}

func TestWebSubscribeConfirmByLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	res, err := f.srv.Subscribe(ctx, testList, "New Person <New@Example.net>", "web")
	if err != nil || res.State != lists.PendingConfirm || res.Token != "" || res.Address != "New@example.net" || res.List != testList {
		t.Fatalf("subscribe: %+v %v", res, err)
	}
	tok := confirmRequest(t, f, f.rec.take(), "New@example.net")
	pend, err := f.db.PendingSubscriptions(ctx, testList)
	if err != nil || len(pend) != 1 || pend[0].Via != "web" {
		t.Fatalf("pending %+v %v", pend, err)
	}
	// What a GET of the page shows, without confirming.
	for range 2 {
		look, err := f.db.LookupToken(ctx, tok)
		if err != nil || look.State != lists.PendingConfirm || look.Address != "New@example.net" || look.List != testList {
			t.Fatalf("lookup: %+v %v", look, err)
		}
	}
	if _, err := f.db.GetMember(ctx, testList, "new@example.net", lists.RoleMember); err == nil {
		t.Fatal("member before confirming")
	}
	res, err = f.srv.ConfirmToken(ctx, " "+tok+" ")
	if err != nil || res.State != lists.Subscribed || res.Token != "" {
		t.Fatalf("confirm: %+v %v", res, err)
	}
	if _, err := f.db.GetMember(ctx, testList, "new@example.net", lists.RoleMember); err != nil {
		t.Fatalf("not a member after confirming: %v", err)
	}
	var te *lists.TokenError
	if _, err := f.srv.ConfirmToken(ctx, tok); !errors.As(err, &te) || te.Expired {
		t.Fatalf("second use of the token: %v", err)
	}
	if _, err := f.srv.ConfirmToken(ctx, ""); !errors.As(err, &te) {
		t.Fatalf("empty token: %v", err)
	}
	if _, err := f.db.LookupToken(ctx, tok); !errors.As(err, &te) {
		t.Fatalf("lookup of a used token: %v", err)
	}
	// Already a member; bad address; unknown list.
	var ex *lists.ExistsError
	if _, err := f.srv.Subscribe(ctx, testList, "new@example.net", "web"); !errors.As(err, &ex) {
		t.Fatalf("member again: %v", err)
	}
	var inv *lists.InvalidError
	if _, err := f.srv.Subscribe(ctx, testList, "not an address", "web"); !errors.As(err, &inv) {
		t.Fatalf("bad address: %v", err)
	}
	var nf *lists.NotFoundError
	if _, err := f.srv.Subscribe(ctx, "nope@lists.example.org", "x@example.net", "web"); !errors.As(err, &nf) {
		t.Fatalf("unknown list: %v", err)
	}
	if n := len(f.rec.take()); n != 0 {
		t.Fatalf("%d messages for refused requests", n)
	}
}

func TestWebSubscribeExpiredToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.srv.Subscribe(ctx, testList, "late@example.net", "web"); err != nil {
		t.Fatal(err)
	}
	tok := confirmRequest(t, f, f.rec.take(), "late@example.net")
	f.clock.Advance(4 * 24 * time.Hour) // confirm_days is 3
	var te *lists.TokenError
	if _, err := f.db.LookupToken(ctx, tok); !errors.As(err, &te) || !te.Expired {
		t.Fatalf("lookup: %v", err)
	}
	if _, err := f.srv.ConfirmToken(ctx, tok); !errors.As(err, &te) || !te.Expired {
		t.Fatalf("confirm: %v", err)
	}
	if _, err := f.db.GetMember(ctx, testList, "late@example.net", lists.RoleMember); err == nil {
		t.Fatal("member by an expired token")
	}
}

func TestWebSubscribeOpenAndModerated(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.add(t, "owner@example.org", lists.RoleOwner, "")
	f.add(t, "mod@example.org", lists.RoleModerator, "")
	ctx := context.Background()
	f.settings(t, func(s *lists.Settings) { s.SubscriptionPolicy = lists.PolicyOpen })
	res, err := f.srv.Subscribe(ctx, testList, "open@example.net", "web")
	if err != nil || res.State != lists.Subscribed {
		t.Fatalf("open: %+v %v", res, err)
	}
	if msgs := f.rec.take(); len(msgs) != 0 {
		t.Fatalf("open list sent %+v", msgs)
	}
	f.settings(t, func(s *lists.Settings) { s.SubscriptionPolicy = lists.PolicyModerate })
	res, err = f.srv.Subscribe(ctx, testList, "mod-me@example.net", "web")
	if err != nil || res.State != lists.PendingApproval {
		t.Fatalf("moderate: %+v %v", res, err)
	}
	checkRequestNotice(t, f.rec.take(), "mod-me@example.net")
	if err := f.db.ApproveSubscription(ctx, testList, "mod-me@example.net"); err != nil {
		t.Fatal(err)
	}
	// By mail to -join: the same notice, and an answer to the sender.
	join := lists.CompanionAddress(testList, lists.AddrJoin)
	mustOK(t, f.deliver(t, "joiner@example.net", []string{join}, "From: joiner@example.net", "To: "+join,
		"Subject: join", "Message-ID: <j1@example.net>", "", ""))
	msgs := f.rec.take()
	checkRequestNotice(t, to(msgs, "owner@example.org"), "joiner@example.net")
	if ans := to(msgs, "joiner@example.net"); len(ans) != 1 || !strings.Contains(ans[0].body, "moderator's approval") {
		t.Fatalf("answer: %+v", ans)
	}
}

// checkRequestNotice checks that msgs is one notice to the owner and the
// moderator about addr's request.
func checkRequestNotice(t *testing.T, msgs []sent, addr string) {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("want one notice, got %+v", msgs)
	}
	m := msgs[0]
	rc := strings.Join(m.env.Rcpts, ",")
	if rc != "owner@example.org,mod@example.org" || !strings.Contains(m.msg.Header.Get("Subject"), addr) ||
		!strings.Contains(m.body, addr+" asked to join") || m.msg.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Fatalf("notice to %s: %s\n%s", rc, m.msg.Header.Get("Subject"), m.body)
	}
}

func TestWebSubscribeConfirmThenModerate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.add(t, "owner@example.org", lists.RoleOwner, "")
	f.add(t, "mod@example.org", lists.RoleModerator, "")
	f.settings(t, func(s *lists.Settings) { s.SubscriptionPolicy = lists.PolicyConfirmThenModerate })
	ctx := context.Background()
	res, err := f.srv.Subscribe(ctx, testList, "two@example.net", "web")
	if err != nil || res.State != lists.PendingConfirm {
		t.Fatalf("subscribe: %+v %v", res, err)
	}
	tok := confirmRequest(t, f, f.rec.take(), "two@example.net")
	res, err = f.srv.ConfirmToken(ctx, tok)
	if err != nil || res.State != lists.PendingApproval {
		t.Fatalf("confirm: %+v %v", res, err)
	}
	checkRequestNotice(t, f.rec.take(), "two@example.net")
}

func TestWebSubscribeSubmitFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	f.rec.setFailAt(1)
	res, err := f.srv.Subscribe(ctx, testList, "x@example.net", "web")
	var se *SendError
	if !errors.As(err, &se) || !errors.Is(err, errSubmit) || res.Token != "" {
		t.Fatalf("subscribe with a full spool: %+v %v", res, err)
	}
	f.rec.setFailAt(0)
	// Asking again sends a new token; only the new one works.
	if _, err := f.srv.Subscribe(ctx, testList, "x@example.net", "web"); err != nil {
		t.Fatal(err)
	}
	tok := confirmRequest(t, f, f.rec.take(), "x@example.net")
	if res, err := f.srv.ConfirmToken(ctx, tok); err != nil || res.State != lists.Subscribed {
		t.Fatalf("confirm: %+v %v", res, err)
	}
}

func TestWebUnsubscribe(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	ctx := context.Background()
	res, err := f.srv.Unsubscribe(ctx, testList, "Ann@Example.org", "web")
	if err != nil || res.State != lists.PendingUnsubscribe || res.Token != "" || res.Address != "ann@example.org" {
		t.Fatalf("unsubscribe: %+v %v", res, err)
	}
	msgs := f.rec.take()
	tok := confirmRequest(t, f, msgs, "ann@example.org")
	if !strings.Contains(msgs[0].body, "unsubscribe ann@example.org") {
		t.Fatalf("body:\n%s", msgs[0].body)
	}
	look, err := f.db.LookupToken(ctx, tok)
	if err != nil || look.State != lists.PendingUnsubscribe || look.Address != "ann@example.org" {
		t.Fatalf("lookup: %+v %v", look, err)
	}
	if _, err := f.db.GetMember(ctx, testList, "ann@example.org", lists.RoleMember); err != nil {
		t.Fatalf("unsubscribed before confirming: %v", err)
	}
	res, err = f.srv.ConfirmToken(ctx, tok)
	if err != nil || res.State != lists.Unsubscribed {
		t.Fatalf("confirm: %+v %v", res, err)
	}
	if _, err := f.db.GetMember(ctx, testList, "ann@example.org", lists.RoleMember); err == nil {
		t.Fatal("still a member")
	}
	var nf *lists.NotFoundError
	if _, err := f.srv.Unsubscribe(ctx, testList, "ann@example.org", "web"); !errors.As(err, &nf) {
		t.Fatalf("not a member: %v", err)
	}
	if n := len(f.rec.take()); n != 0 {
		t.Fatalf("%d messages", n)
	}
	// The owner role is not a subscription.
	if _, err := f.srv.Unsubscribe(ctx, testList, "owner@example.org", "web"); !errors.As(err, &nf) {
		t.Fatalf("owner: %v", err)
	}
}

// Without a SiteURL the confirmation request names only the address.
func TestConfirmationWithoutSiteURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.SiteURL = "" })
	if _, err := f.srv.Subscribe(context.Background(), testList, "x@example.net", "web"); err != nil {
		t.Fatal(err)
	}
	msgs := f.rec.take()
	l, _ := f.db.GetList(context.Background(), testList)
	if len(msgs) != 1 || strings.Contains(msgs[0].body, "http") || f.srv.ConfirmURL(l, "t") != "" {
		t.Fatalf("%+v", msgs)
	}
}
