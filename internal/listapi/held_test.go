package listapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

func TestHeldListAndPreview(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	plain := f.hold(t, "stranger@example.net", "plain one", post("Stranger <stranger@example.net>", "plain one", "Hello list,\r\nplease read."))
	html := f.hold(t, "html@example.net", "html one", strings.Join([]string{
		"From: html@example.net", "To: " + testList, "Subject: html one", "MIME-Version: 1.0",
		"Content-Type: text/html; charset=utf-8", "",
		`<p>Click <a href="https://evil.example/">here</a></p><script>alert(1)</script><img src=x onerror=alert(2)>`, ""}, "\r\n"))

	var list struct {
		Held []heldJSON
		Next string
	}
	f.call(t, moderator, "GET", lp("held"), nil).decodeInto(t, &list)
	if len(list.Held) != 2 || list.Held[0].ID != plain || list.Held[0].Sender != "stranger@example.net" ||
		list.Held[0].Rule != lists.RuleNonmemberModeration || list.Held[0].State != "held" || list.Next != "" {
		t.Errorf("held: %+v", list)
	}
	f.call(t, moderator, "GET", lp("held")+"?limit=1", nil).decodeInto(t, &list)
	if len(list.Held) != 1 || list.Next != fmt.Sprint(plain) {
		t.Errorf("first page: %+v", list)
	}
	f.call(t, moderator, "GET", lp("held")+"?limit=1&after="+list.Next, nil).decodeInto(t, &list)
	if len(list.Held) != 1 || list.Held[0].ID != html || list.Next != "" {
		t.Errorf("second page: %+v", list)
	}

	var one struct {
		heldJSON
		Preview *previewJSON
	}
	f.call(t, moderator, "GET", lp(fmt.Sprintf("held/%d", plain)), nil).decodeInto(t, &one)
	if one.Preview == nil || one.Preview.From != "Stranger <stranger@example.net>" || one.Preview.Subject != "plain one" ||
		!strings.Contains(one.Preview.Text, "please read.") || one.Preview.HTMLOnly {
		t.Errorf("plain preview: %+v %+v", one.heldJSON, one.Preview)
	}
	res := f.call(t, moderator, "GET", lp(fmt.Sprintf("held/%d", html)), nil)
	res.decodeInto(t, &one)
	if one.Preview == nil || !one.Preview.HTMLOnly || !strings.Contains(one.Preview.Text, "Click here") {
		t.Fatalf("html preview: %s", res.Body)
	}
	for _, bad := range []string{"<script", "<a ", "<img", "onerror", "alert(1)"} {
		if strings.Contains(one.Preview.Text, bad) {
			t.Errorf("preview text carries %q: %q", bad, one.Preview.Text)
		}
	}
	if strings.Contains(string(res.Body), "<") {
		t.Errorf("a raw < in the JSON answer: %s", res.Body)
	}

	for _, p := range []string{"held/999", "held/abc", "held/-1"} {
		if res := f.call(t, moderator, "GET", lp(p), nil); res.Status != http.StatusNotFound {
			t.Errorf("%s: %d", p, res.Status)
		}
	}
	// A post of another list is not reachable through this one.
	if res := f.call(t, admin, "GET", fmt.Sprintf("/api/v1/lists/%s/held/%d", otherList, plain), nil); res.Status != http.StatusNotFound {
		t.Errorf("held post through the other list: %d", res.Status)
	}
}

func TestHeldApproveDistributes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.hold(t, "stranger@example.net", "deploy tonight", post("stranger@example.net", "deploy tonight", "The deploy is at 20:00."))
	res := f.call(t, moderator, "POST", lp(fmt.Sprintf("held/%d", id)), map[string]any{"action": "approve", "reason": "on topic"})
	if res.Status != http.StatusOK || res.JSON(t)["status"] != "done" {
		t.Fatalf("approve: %d %s", res.Status, res.Body)
	}
	got := to(f.rec.take(), emailOf(member))
	if len(got) != 1 || !strings.Contains(got[0].raw, "deploy tonight") || !strings.Contains(got[0].body, "The deploy is at 20:00.") {
		t.Fatalf("the member got %d copies: %+v", len(got), got)
	}
	h, err := f.st.GetHeld(t.Context(), testList, id)
	if err != nil || h.State != lists.HeldApproved || h.Moderator != emailOf(moderator) || h.ModReason != "on topic" {
		t.Errorf("held post after approval: %+v, %v", h, err)
	}
	a := f.lastAudit(t, testList)
	if a.Actor != emailOf(moderator) || a.Action != "held.approve" || a.Target != fmt.Sprintf("held #%d", id) ||
		a.Detail != "on topic (1 done, 0 failed)" {
		t.Errorf("audit %+v", a)
	}
	// Deciding again: the post has left the queue.
	res = f.call(t, owner, "POST", lp(fmt.Sprintf("held/%d", id)), map[string]any{"action": "discard"})
	if res.Status != http.StatusConflict || !strings.Contains(res.JSON(t)["error"].(string), "approved") {
		t.Errorf("second decision: %d %s", res.Status, res.Body)
	}
	if msgs := f.rec.take(); len(msgs) != 0 {
		t.Errorf("the second decision sent %d messages", len(msgs))
	}
	if res := f.call(t, owner, "POST", lp("held/4242"), map[string]any{"action": "approve"}); res.Status != http.StatusNotFound {
		t.Errorf("unknown post: %d %s", res.Status, res.Body)
	}
	for _, body := range []map[string]any{{"action": "publish"}, {}} {
		if res := f.call(t, owner, "POST", lp(fmt.Sprintf("held/%d", id)), body); res.Status != http.StatusUnprocessableEntity || res.JSON(t)["field"] != "action" {
			t.Errorf("%v: %d %s", body, res.Status, res.Body)
		}
	}
}

func TestHeldRejectTellsSender(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.hold(t, "stranger@example.net", "buy now", post("stranger@example.net", "buy now", "Cheap watches."))
	res := f.call(t, owner, "POST", lp(fmt.Sprintf("held/%d", id)), map[string]any{"action": "reject", "reason": "advertising is off topic"})
	if res.Status != http.StatusOK {
		t.Fatalf("reject: %d %s", res.Status, res.Body)
	}
	msgs := f.rec.take()
	notice := to(msgs, "stranger@example.net")
	if len(notice) != 1 || !strings.Contains(notice[0].body, "advertising is off topic") {
		t.Fatalf("notice to the sender: %+v", msgs)
	}
	if len(to(msgs, emailOf(member))) != 0 {
		t.Error("a rejected post reached a member")
	}
	if h, _ := f.st.GetHeld(t.Context(), testList, id); h.State != lists.HeldRejected {
		t.Errorf("state %s", h.State)
	}
	if a := f.lastAudit(t, testList); a.Action != "held.reject" || a.Detail != "advertising is off topic (1 done, 0 failed)" {
		t.Errorf("audit %+v", a)
	}
}

func TestHeldBulk(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.hold(t, "ann@example.net", "first", post("ann@example.net", "first", "one"))
	b := f.hold(t, "bob@example.net", "second", post("bob@example.net", "second", "two"))
	res := f.call(t, moderator, "POST", lp("held"), map[string]any{"ids": []int64{a, 777, b}, "action": "accept-always"})
	var got struct {
		Action  string
		Results []modResult
		Counts  map[string]int
	}
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || got.Action != "accept-always" || len(got.Results) != 3 ||
		got.Results[0].Status != "done" || got.Results[1].Status != "not_found" || got.Results[2].Status != "done" ||
		got.Counts["done"] != 2 || got.Counts["not_found"] != 1 {
		t.Fatalf("bulk: %d %s", res.Status, res.Body)
	}
	if n := len(to(f.rec.take(), emailOf(member))); n != 2 {
		t.Errorf("the member got %d posts, want 2", n)
	}
	// accept-always: the senders' next posts are accepted.
	m, err := f.st.GetMember(t.Context(), testList, "ann@example.net", lists.RoleNonmember)
	if err != nil || m.Moderation == nil || *m.Moderation != lists.Accept {
		t.Errorf("ann after accept-always: %+v, %v", m, err)
	}
	au := f.lastAudit(t, testList)
	if au.Action != "held.accept-always" || au.Target != fmt.Sprintf("held #%d, #%d", a, b) || au.Detail != " (2 done, 1 failed)" {
		t.Errorf("audit %+v", au)
	}
	// Defer leaves a post held and sends nothing.
	c := f.hold(t, "carol@example.net", "third", post("carol@example.net", "third", "three"))
	if res := f.call(t, moderator, "POST", lp("held"), map[string]any{"ids": []int64{c}, "action": "defer"}); res.Status != http.StatusOK {
		t.Errorf("defer: %d %s", res.Status, res.Body)
	}
	if h, _ := f.st.GetHeld(t.Context(), testList, c); h.State != lists.HeldWaiting || len(f.rec.take()) != 0 {
		t.Errorf("deferred post: %s", h.State)
	}
	for _, body := range []map[string]any{
		{"action": "approve"},
		{"ids": []int64{}, "action": "approve"},
		{"ids": []int64{c, 0}, "action": "approve"},
		{"ids": make([]int64, 1001), "action": "approve"},
		{"ids": []int64{c}, "action": "maybe"},
	} {
		if res := f.call(t, moderator, "POST", lp("held"), body); res.Status/100 != 4 || res.JSON(t)["field"] == nil {
			t.Errorf("%v: %d %s", body, res.Status, res.Body)
		}
	}
	if h, _ := f.st.GetHeld(t.Context(), testList, c); h.State != lists.HeldWaiting {
		t.Errorf("a refused request moderated post %d: %s", c, h.State)
	}
}

func TestDecisions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.deliver(t, emailOf(member), post(emailOf(member), "member post", "hi"))
	f.deliver(t, "stranger@example.net", post("stranger@example.net", "stranger post", "hi"))
	var got struct {
		Decisions []decisionJSON
		Next      string
	}
	res := f.call(t, moderator, "GET", lp("decisions"), nil)
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || len(got.Decisions) != 2 || got.Next != "" {
		t.Fatalf("decisions: %d %s", res.Status, res.Body)
	}
	newest, oldest := got.Decisions[0], got.Decisions[1]
	if newest.Poster != "stranger@example.net" || newest.Action != "hold" || newest.Rule != lists.RuleNonmemberModeration ||
		!strings.Contains(strings.Join(newest.Hits, ","), lists.RuleNonmemberModeration) || len(newest.Rules) == 0 {
		t.Errorf("newest %+v", newest)
	}
	if oldest.Poster != emailOf(member) || oldest.Action != "accept" || !oldest.Member {
		t.Errorf("oldest %+v", oldest)
	}
	f.call(t, moderator, "GET", lp("decisions")+"?limit=1", nil).decodeInto(t, &got)
	if len(got.Decisions) != 1 || got.Decisions[0].ID != newest.ID || got.Next != fmt.Sprint(newest.ID) {
		t.Errorf("first page %+v", got)
	}
	f.call(t, moderator, "GET", lp("decisions")+"?limit=1&before="+got.Next, nil).decodeInto(t, &got)
	if len(got.Decisions) != 1 || got.Decisions[0].ID != oldest.ID || got.Next != "" {
		t.Errorf("second page %+v", got)
	}
	for _, q := range []string{"limit=0", "limit=x", "before=-3"} {
		if res := f.call(t, moderator, "GET", lp("decisions")+"?"+q, nil); res.Status != http.StatusBadRequest {
			t.Errorf("%s: %d", q, res.Status)
		}
	}
}
