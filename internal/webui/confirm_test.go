package webui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// setSettings changes list's settings with change.
func (f *fixture) setSettings(t testing.TB, list string, change func(*lists.Settings)) {
	t.Helper()
	ctx := context.Background()
	l, err := f.st.GetList(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	set := l.Settings
	change(&set)
	if _, _, err := f.st.ChangeSettings(ctx, list, set, lists.Change{Author: "admin@example.org", Reason: "test", Confirm: true}); err != nil {
		t.Fatal(err)
	}
}

// token asks for addr to join list and returns the confirmation token.
func (f *fixture) token(t testing.TB, list, addr string) string {
	t.Helper()
	res, err := f.st.Subscribe(context.Background(), list, addr, "web")
	if err != nil {
		t.Fatal(err)
	}
	if res.Token == "" {
		t.Fatalf("subscribe %s: state %s, no token", addr, res.State)
	}
	return res.Token
}

func (f *fixture) isMember(t testing.TB, list, addr string) bool {
	t.Helper()
	_, err := f.st.GetMember(context.Background(), list, addr, lists.RoleMember)
	var nf *lists.NotFoundError
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

var confirmForm = url.Values{"csrf": {testCSRF}, "action": {"confirm"}}

func TestConfirmSubscriptionByLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.token(t, testList, "newcomer@example.net")
	page := lp("confirm/" + tok)

	w := f.do(t, nil, "GET", page, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("GET: status %d", w.Code)
	}
	body := w.Body.String()
	mustContain(t, body, "Subscribe", "n***@example.net", testList, `value="confirm"`, `action="`+page+`"`)
	if strings.Contains(body, "newcomer@example.net") {
		t.Error("the page shows the whole address")
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	if f.isMember(t, testList, "newcomer@example.net") {
		t.Fatal("GET confirmed the subscription")
	}

	w = f.do(t, nil, "POST", page, confirmForm)
	if w.Code != http.StatusOK {
		t.Fatalf("POST: status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "is now subscribed")
	if !f.isMember(t, testList, "newcomer@example.net") {
		t.Fatal("POST did not subscribe")
	}
	if a := f.lastAudit(); a.Action != "subscribe.confirm" || a.Target != "newcomer@example.net" || a.List != testList {
		t.Errorf("audit %+v", a)
	}

	// Used: the link is now unknown, and says so.
	for _, m := range []string{"GET", "POST"} {
		w = f.do(t, nil, m, page, confirmForm)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s of a used token: status %d, want 404", m, w.Code)
		}
		mustContain(t, w.Body.String(), "already used")
	}
}

func TestConfirmBadTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tok := range []string{"nosuchtoken", strings.Repeat("a", 500)} {
		if w := f.do(t, nil, "GET", lp("confirm/"+tok), nil); w.Code != http.StatusNotFound {
			t.Errorf("unknown token: status %d, want 404", w.Code)
		}
	}
	// A token of another list, under this list's path: unknown, and
	// nothing is confirmed.
	tok := f.token(t, otherList, "elsewhere@example.net")
	if w := f.do(t, nil, "POST", lp("confirm/"+tok), confirmForm); w.Code != http.StatusNotFound {
		t.Errorf("token of another list: status %d, want 404", w.Code)
	}
	if f.isMember(t, otherList, "elsewhere@example.net") {
		t.Error("a token was used under another list's path")
	}
	if w := f.do(t, nil, "GET", "/lists/nope@lists.example.org/confirm/"+tok, nil); w.Code != http.StatusNotFound {
		t.Errorf("missing list: status %d", w.Code)
	}
	// Expired: 410 on both methods, nothing confirmed.
	tok = f.token(t, testList, "late@example.net")
	f.clock.Advance(30 * 24 * time.Hour)
	for _, m := range []string{"GET", "POST"} {
		w := f.do(t, nil, m, lp("confirm/"+tok), confirmForm)
		if w.Code != http.StatusGone {
			t.Errorf("%s expired token: status %d, want 410", m, w.Code)
		}
		mustContain(t, w.Body.String(), "expired", `href="`+lp("")+`"`)
	}
	if f.isMember(t, testList, "late@example.net") {
		t.Error("an expired token subscribed")
	}
}

func TestConfirmUnsubscribeByLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.st.RequestUnsubscribe(context.Background(), testList, viewer(member).Email, "web")
	if err != nil {
		t.Fatal(err)
	}
	page := lp("confirm/" + res.Token)
	w := f.do(t, nil, "GET", page, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("GET: status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "Unsubscribe", "m***@example.org")
	w = f.do(t, nil, "POST", page, confirmForm)
	if w.Code != http.StatusOK {
		t.Fatalf("POST: status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "no longer receives")
	if f.isMember(t, testList, viewer(member).Email) {
		t.Error("still a member")
	}
	if a := f.lastAudit(); a.Action != "unsubscribe.confirm" {
		t.Errorf("audit %+v", a)
	}
}

func TestConfirmThenModerateAndHooks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.setSettings(t, testList, func(s *lists.Settings) { s.SubscriptionPolicy = lists.PolicyConfirmThenModerate })
	var looked, confirmed int
	f.ui.o.LookupToken = func(ctx context.Context, tok string) (lists.SubscribeResult, error) {
		looked++
		return f.st.LookupToken(ctx, tok)
	}
	f.ui.o.Confirm = func(ctx context.Context, tok string) (lists.SubscribeResult, error) {
		confirmed++
		return f.st.Confirm(ctx, tok)
	}
	tok := f.token(t, testList, "careful@example.net")
	w := f.do(t, nil, "POST", lp("confirm/"+tok), confirmForm)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "waits for a moderator")
	if looked != 1 || confirmed != 1 {
		t.Errorf("hooks called: lookup %d, confirm %d", looked, confirmed)
	}
	if f.isMember(t, testList, "careful@example.net") {
		t.Error("subscribed before approval")
	}
}

func TestConfirmOnHiddenList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.ui.o.Private = func(*lists.List) bool { return true }
	tok := f.token(t, testList, "invited@example.net")
	w := f.do(t, nil, "GET", lp("confirm/"+tok), nil)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: the token is the credential, the page must be served", w.Code)
	}
	if strings.Contains(w.Body.String(), `href="`+lp("")+`"`) {
		t.Error("the page links to the overview that a stranger cannot see")
	}
	if w := f.do(t, nil, "POST", lp("confirm/"+tok), confirmForm); w.Code != http.StatusOK {
		t.Fatalf("POST: status %d", w.Code)
	}
	if !f.isMember(t, testList, "invited@example.net") {
		t.Error("not subscribed")
	}
}

func TestMaskAddress(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ann@example.org": "a***@example.org",
		"é@example.org":   "é***@example.org",
		"x":               "x***",
		"@example.org":    "@example.org",
	} {
		if got := maskAddress(in); got != want {
			t.Errorf("maskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
