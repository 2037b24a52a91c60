package webui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

func TestUnsubscribeLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.ui.o.Private = func(*lists.List) bool { return true } // works on hidden lists too
	addr := viewer(member).Email
	q := url.Values{"address": {addr}, "token": {f.st.UnsubscribeToken(testList, addr)}}
	link := lp("unsubscribe") + "?" + q.Encode()

	w := f.do(t, nil, "GET", link, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("GET: status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "m***@example.org", `value="unsubscribe"`)
	if !f.isMember(t, testList, addr) {
		t.Fatal("GET unsubscribed")
	}
	// Wrong signatures: another address, another list, a truncated token.
	for _, bad := range []string{
		lp("unsubscribe") + "?" + url.Values{"address": {viewer(owner).Email}, "token": q["token"]}.Encode(),
		listPath(otherList, "unsubscribe") + "?" + q.Encode(),
		lp("unsubscribe") + "?" + url.Values{"address": {addr}, "token": {q.Get("token")[:10]}}.Encode(),
		lp("unsubscribe"),
	} {
		if w := f.do(t, nil, "POST", bad, url.Values{"csrf": {testCSRF}}); w.Code != http.StatusNotFound {
			t.Errorf("POST %s: status %d, want 404", bad, w.Code)
		}
	}
	if !f.isMember(t, testList, addr) {
		t.Fatal("a bad link unsubscribed")
	}

	// RFC 8058 one-click: a POST of List-Unsubscribe=One-Click to the link.
	r := httptest.NewRequest("POST", link, strings.NewReader("List-Unsubscribe=One-Click"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = f.serve(nil, r)
	if w.Code != http.StatusOK {
		t.Fatalf("one-click POST: status %d", w.Code)
	}
	if f.isMember(t, testList, addr) {
		t.Fatal("still a member after one-click")
	}
	if a := f.lastAudit(); a.Action != "unsubscribe.link" || a.Target != addr || !strings.Contains(a.Detail, "RFC 8058") {
		t.Errorf("audit %+v", a)
	}
	// Again: harmless, same answer.
	if w := f.serve(nil, httptest.NewRequest("POST", link, nil)); w.Code != http.StatusOK {
		t.Errorf("second POST: status %d", w.Code)
	}
}
