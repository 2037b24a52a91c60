package listserv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/smtperr"
)

func TestMemberPostDistributed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	ctx := context.Background()
	if err := f.db.SetModeratorPassword(ctx, testList, "s3cret"); err != nil {
		t.Fatal(err)
	}
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList},
		postLines("Ann <ann@example.org>", "Deploy tonight", "<m1@example.org>",
			"Approved: s3cret", "List-Id: <other.example.com>", "Reply-To: ann@example.org")...))
	msgs := f.rec.take()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want one per enabled member (ann, bob)", len(msgs))
	}
	for _, member := range []string{"ann@example.org", "bob@example.org"} {
		got := to(msgs, member)
		if len(got) != 1 {
			t.Fatalf("%s got %d copies", member, len(got))
		}
		m := got[0]
		if want := lists.BounceAddress(testList, member); m.env.From != want || len(m.env.Rcpts) != 1 {
			t.Errorf("envelope %+v, want VERP sender %s", m.env, want)
		}
		h := m.msg.Header
		checks := map[string]string{
			"List-Id":               "Wikitech <wikitech-l.lists.example.org>",
			"List-Post":             "<mailto:" + testList + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Precedence":            "list",
			"X-Beenthere":           testList,
			"Subject":               "[wikitech-l] Deploy tonight",
			"Reply-To":              "ann@example.org",
			"List-Archive":          "<https://lists.example.org/lists/" + testList + "/archive/>",
		}
		for k, want := range checks {
			if v := h.Get(k); v != want {
				t.Errorf("%s: %s = %q, want %q", member, k, v, want)
			}
		}
		if len(h["List-Id"]) != 1 || h.Get("Approved") != "" || strings.Contains(string(m.raw), "s3cret") {
			t.Errorf("old List-Id or approval password kept:\n%s", m.raw)
		}
		for _, k := range []string{"List-Help", "List-Subscribe"} {
			if !strings.Contains(h.Get(k), "mailto:") || !strings.Contains(h.Get(k), "https://") {
				t.Errorf("%s = %q", k, h.Get(k))
			}
		}
		// The one-click link carries a token that verifies for this member only.
		unsub := h.Get("List-Unsubscribe")
		start, end := strings.Index(unsub, "<https://"), strings.Index(unsub, ">")
		if start < 0 || end < start || !strings.Contains(unsub, "<mailto:wikitech-l-leave@lists.example.org>") {
			t.Fatalf("List-Unsubscribe = %q", unsub)
		}
		u, err := url.Parse(unsub[start+1 : end])
		if err != nil {
			t.Fatal(err)
		}
		tok := u.Query().Get("token")
		if u.Query().Get("address") != member || !f.db.VerifyUnsubscribeToken(testList, member, tok) ||
			f.db.VerifyUnsubscribeToken(testList, "eve@example.net", tok) {
			t.Errorf("unsubscribe link %s does not verify for %s only", u, member)
		}
		if !strings.Contains(m.body, "the deploy is at 20:00.") {
			t.Errorf("body %q", m.body)
		}
	}
	// The same post again (a retry, or a second copy) is not sent twice.
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList},
		postLines("Ann <ann@example.org>", "Deploy tonight", "<m1@example.org>")...))
	if n := len(f.rec.take()); n != 0 {
		t.Fatalf("duplicate post sent %d copies", n)
	}
}

func TestSubjectPrefixOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.add(t, "ann@example.org", lists.RoleMember, "")
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList},
		postLines("ann@example.org", "Re: [wikitech-l] Deploy tonight", "<m2@example.org>")...))
	msgs := f.rec.take()
	if len(msgs) != 1 || msgs[0].msg.Header.Get("Subject") != "Re: [wikitech-l] Deploy tonight" {
		t.Fatalf("subject %q", msgs[0].msg.Header.Get("Subject"))
	}
}

func TestApprovedBodyLineStripped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.add(t, "ann@example.org", lists.RoleMember, "")
	if err := f.db.SetModeratorPassword(context.Background(), testList, "s3cret"); err != nil {
		t.Fatal(err)
	}
	mustOK(t, f.deliver(t, "eve@example.net", []string{testList}, "From: eve@example.net", "To: "+testList,
		"Subject: hi", "Message-ID: <m3@example.net>", "", "Approved: s3cret", "real text", ""))
	msgs := f.rec.take()
	if len(msgs) != 1 || strings.Contains(msgs[0].body, "s3cret") || !strings.Contains(msgs[0].body, "real text") {
		t.Fatalf("messages %d: %+v", len(msgs), msgs)
	}
}

func TestReplyToList(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.add(t, "ann@example.org", lists.RoleMember, "")
	set := lists.DefaultSettings("wikitech-l")
	set.ReplyTo = lists.ReplyToList
	set.ArchivePolicy = lists.ArchivePolicyNone
	if err := f.db.SetSettings(context.Background(), testList, set); err != nil {
		t.Fatal(err)
	}
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList},
		postLines("ann@example.org", "x", "<m4@example.org>", "Reply-To: elsewhere@example.org")...))
	m := f.rec.take()[0].msg.Header
	if m.Get("Reply-To") != testList || len(m["Reply-To"]) != 1 || m.Get("List-Archive") != "" {
		t.Fatalf("Reply-To %q, List-Archive %q", m["Reply-To"], m.Get("List-Archive"))
	}
}

func TestUnknownListAddress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	res := f.deliver(t, "ann@example.org", []string{"nosuch@lists.example.org", "nosuch-request@lists.example.org", testList},
		postLines("ann@example.org", "x", "<m5@example.org>")...)
	for _, r := range res[:2] {
		var se *smtperr.Error
		if !errors.As(r.Err, &se) || se.Code != 550 || se.Status() != "5.1.1" {
			t.Fatalf("%s: %v, want 550 5.1.1", r.Rcpt, r.Err)
		}
	}
	if res[2].Err != nil {
		t.Fatalf("known list: %v", res[2].Err)
	}
}

// countPerMember counts copies per recipient.
func countPerMember(msgs []sent) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		if strings.Contains(m.env.From, "-bounces+") {
			out[m.env.Rcpts[0]]++
		}
	}
	return out
}

// TestRetryAfterSubmitFailureDoesNotDuplicate fails the Submit of a later
// page of members (one spool file per page), then the resumed one: the
// retries go on from the page that failed, so every member gets one copy.
func TestRetryAfterSubmitFailureDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var members []lists.NewMember
	for i := range 2*pageSize + 200 { // three pages
		members = append(members, lists.NewMember{Address: fmt.Sprintf("m%05d@example.org", i)})
	}
	if _, err := f.db.AddMembers(context.Background(), testList, members); err != nil {
		t.Fatal(err)
	}
	lines := postLines("m00000@example.org", "x", "<retry@example.org>")
	for _, failAt := range []int{2, 1, 2} {
		f.rec.setFailAt(failAt)
		res := f.deliver(t, "m00000@example.org", []string{testList}, lines...)
		if !smtperr.Temporary(res[0].Err) || res[0].Err == nil {
			t.Fatalf("failing the submit #%d: result %v, want a temporary error", failAt, res[0].Err)
		}
	}
	f.rec.setFailAt(0)
	mustOK(t, f.deliver(t, "m00000@example.org", []string{testList}, lines...))
	mustOK(t, f.deliver(t, "m00000@example.org", []string{testList}, lines...)) // already done: nothing
	counts := countPerMember(f.rec.take())
	if len(counts) != len(members) {
		t.Fatalf("%d members served, want %d", len(counts), len(members))
	}
	for m, n := range counts {
		if n != 1 {
			t.Fatalf("%s got %d copies", m, n)
		}
	}
	if f.rec.files != 3 {
		t.Fatalf("%d spool files for three pages of members, want 3", f.rec.files)
	}
}

func TestStrangerHeldThenApproved(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	ctx := context.Background()
	mustOK(t, f.deliver(t, "eve@example.net", []string{testList}, postLines("eve@example.net", "Offer", "<h1@example.net>")...))
	msgs := f.rec.take()
	if n := len(countPerMember(msgs)); n != 0 {
		t.Fatalf("held post distributed to %d members", n)
	}
	mod := to(msgs, "mod@example.org")
	if len(mod) != 1 || len(to(msgs, "owner@example.org")) != 1 || !strings.Contains(mod[0].body, "eve@example.net") {
		t.Fatalf("moderator notice: %+v", msgs)
	}
	awaiting := to(msgs, "eve@example.net")
	if len(awaiting) != 1 || !strings.Contains(awaiting[0].msg.Header.Get("Subject"), "awaits moderator approval") ||
		awaiting[0].msg.Header.Get("In-Reply-To") != "<h1@example.net>" {
		t.Fatalf("sender notice: %+v", awaiting)
	}
	held, err := f.db.Held(ctx, testList, 10, 0)
	if err != nil || len(held) != 1 || held[0].Rule != lists.RuleNonmemberModeration {
		t.Fatalf("held: %+v %v", held, err)
	}
	// Retried delivery of the held post: not held twice, no new notices.
	mustOK(t, f.deliver(t, "eve@example.net", []string{testList}, postLines("eve@example.net", "Offer", "<h1@example.net>")...))
	if n, _ := f.db.CountHeld(ctx); n != 1 || len(f.rec.take()) != 0 {
		t.Fatalf("retry held again: count %d", n)
	}
	// Approval fails while the spool refuses: the post stays held.
	f.rec.setFailAt(1)
	if err := f.srv.Moderate(ctx, testList, held[0].ID, lists.ModApprove, "", "mod@example.org"); err == nil {
		t.Fatal("approve succeeded while Submit failed")
	}
	if n, _ := f.db.CountHeld(ctx); n != 1 {
		t.Fatalf("held after failed approval: %d", n)
	}
	f.rec.setFailAt(0)
	if err := f.srv.Moderate(ctx, testList, held[0].ID, lists.ModApprove, "", "mod@example.org"); err != nil {
		t.Fatal(err)
	}
	counts := countPerMember(f.rec.take())
	if len(counts) != 2 || counts["ann@example.org"] != 1 || counts["bob@example.org"] != 1 {
		t.Fatalf("approved post copies: %v", counts)
	}
	var se *lists.HeldStateError
	if err := f.srv.Moderate(ctx, testList, held[0].ID, lists.ModApprove, "", "mod"); !errors.As(err, &se) {
		t.Fatalf("second approval: %v", err)
	}
}

func TestModerationRejectDiscardAcceptAlways(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, a := range []lists.ModAction{lists.ModReject, lists.ModDiscard, lists.ModAcceptAlways, lists.ModDefer} {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			f.roster(t)
			mustOK(t, f.deliver(t, "eve@example.net", []string{testList}, postLines("eve@example.net", "Offer", "<h2@example.net>")...))
			f.rec.take()
			held, err := f.db.Held(ctx, testList, 10, 0)
			if err != nil || len(held) != 1 {
				t.Fatalf("held: %v %v", held, err)
			}
			res, err := f.srv.ModerateMany(ctx, testList, []int64{held[0].ID, 999}, a, "off topic here", "mod@example.org")
			if err != nil || res[0].Err != nil || res[1].Err == nil {
				t.Fatalf("moderate: %+v %v", res, err)
			}
			msgs := f.rec.take()
			copies := countPerMember(msgs)
			notices := to(msgs, "eve@example.net")
			switch a {
			case lists.ModReject:
				if len(copies) != 0 || len(notices) != 1 || !strings.Contains(notices[0].body, "off topic here") {
					t.Fatalf("reject: copies %v, notices %+v", copies, notices)
				}
			case lists.ModDiscard, lists.ModDefer:
				if len(msgs) != 0 {
					t.Fatalf("%s sent %d messages", a, len(msgs))
				}
			case lists.ModAcceptAlways:
				if len(copies) != 2 {
					t.Fatalf("accept-always copies %v", copies)
				}
				// The next post from eve goes straight out.
				mustOK(t, f.deliver(t, "eve@example.net", []string{testList}, postLines("eve@example.net", "More", "<h3@example.net>")...))
				if n := len(countPerMember(f.rec.take())); n != 2 {
					t.Fatalf("eve's next post reached %d members", n)
				}
			}
			n, _ := f.db.CountHeld(ctx)
			if want := map[bool]int{true: 1, false: 0}[a == lists.ModDefer]; n != want {
				t.Fatalf("held count %d, want %d", n, want)
			}
		})
	}
}

func TestChainRejectSendsNotice(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.add(t, "ann@example.org", lists.RoleMember, "")
	set := lists.DefaultSettings("wikitech-l")
	set.DefaultNonmemberAction = lists.Reject
	if err := f.db.SetSettings(context.Background(), testList, set); err != nil {
		t.Fatal(err)
	}
	mustOK(t, f.deliver(t, "eve@example.net", []string{testList}, postLines("eve@example.net", "Offer", "<r1@example.net>")...))
	msgs := f.rec.take()
	if len(msgs) != 1 || msgs[0].env.Rcpts[0] != "eve@example.net" || !strings.Contains(msgs[0].body, "rejected") {
		t.Fatalf("reject notice: %+v", msgs)
	}
	// No notices to automatic mail (RFC 3834).
	mustOK(t, f.deliver(t, "eve@example.net", []string{testList},
		postLines("eve@example.net", "Offer", "<r2@example.net>", "Auto-Submitted: auto-replied")...))
	if n := len(f.rec.take()); n != 0 {
		t.Fatalf("%d notices to an automatic message", n)
	}
}

func TestNoticeLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.SenderNoticesPerDay = 2; o.ModeratorNoticeInterval = 10 * time.Minute })
	f.roster(t)
	ctx := context.Background()
	for i, id := range []string{"<a@x>", "<b@x>", "<c@x>"} {
		mustOK(t, f.deliver(t, "eve@example.net", []string{testList}, postLines("eve@example.net", "Offer "+id, id)...))
		msgs := f.rec.take()
		wantMod := map[bool]int{true: 1, false: 0}[i == 0]
		if n := len(to(msgs, "mod@example.org")); n != wantMod {
			t.Fatalf("post %d: %d moderator notices, want %d", i, n, wantMod)
		}
		wantSender := map[bool]int{true: 1, false: 0}[i < 2]
		if n := len(to(msgs, "eve@example.net")); n != wantSender {
			t.Fatalf("post %d: %d sender notices, want %d", i, n, wantSender)
		}
	}
	// Within the interval Tick sends nothing; after it, one notice with both new posts.
	if err := f.srv.Tick(ctx); err != nil || len(f.rec.take()) != 0 {
		t.Fatalf("tick within interval: %v", err)
	}
	f.clock.Advance(11 * time.Minute)
	if err := f.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	mod := to(f.rec.take(), "mod@example.org")
	if len(mod) != 1 || !strings.Contains(mod[0].body, "<b@x>") || !strings.Contains(mod[0].body, "<c@x>") ||
		strings.Contains(mod[0].body, "<a@x>") {
		t.Fatalf("batched notice: %+v", mod)
	}
	// Next day the sender cap starts again.
	f.clock.Advance(24 * time.Hour)
	mustOK(t, f.deliver(t, "eve@example.net", []string{testList}, postLines("eve@example.net", "again", "<d@x>")...))
	if n := len(to(f.rec.take(), "eve@example.net")); n != 1 {
		t.Fatalf("next day: %d sender notices", n)
	}
}

func TestHeldExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.HoldExpiry = 48 * time.Hour })
	f.roster(t)
	ctx := context.Background()
	mustOK(t, f.deliver(t, "eve@example.net", []string{testList}, postLines("eve@example.net", "Offer", "<e1@example.net>")...))
	f.rec.take()
	f.clock.Advance(49 * time.Hour)
	if err := f.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	notices := to(f.rec.take(), "eve@example.net")
	if len(notices) != 1 || !strings.Contains(notices[0].body, "no moderator decided") {
		t.Fatalf("expiry notice: %+v", notices)
	}
	if n, _ := f.db.CountHeld(ctx); n != 0 {
		t.Fatalf("held after expiry: %d", n)
	}
}
