package webui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// selected returns the value of the selected option of the select with id.
func selected(t *testing.T, body, id string) string {
	t.Helper()
	sel := regexp.MustCompile(`(?s)<select id="` + id + `"[^>]*>(.*?)</select>`).FindStringSubmatch(body)
	if sel == nil {
		t.Fatalf("no select %s", id)
	}
	opt := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindAllStringSubmatch(sel[1], -1)
	if len(opt) != 1 {
		t.Fatalf("select %s has %d selected options", id, len(opt))
	}
	return opt[0][1]
}

func TestMemberSetsDigestModeAndFormat(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	me := viewer(member)
	body := f.do(t, me, "GET", lp(""), nil).Body.String()
	mustContain(t, body, `<label for="me-mode">`, `<label for="me-format">`)
	if m, ff := selected(t, body, "me-mode"), selected(t, body, "me-format"); m != "regular" || ff != "mime" {
		t.Fatalf("a new member's form shows %s, %s", m, ff)
	}

	form := url.Values{"action": {"digest"}, "mode": {"digest"}, "format": {"plain"}, web.CSRFField: {testCSRF}}
	if w := f.do(t, me, "POST", lp("me"), form); w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "done=digest") {
		t.Fatalf("POST me: %d %s", w.Code, w.Header().Get("Location"))
	}
	m, err := f.st.GetMember(ctx, testList, me.Email, lists.RoleMember)
	if err != nil || m.Mode != lists.ModeDigest || m.DigestFormat != lists.DigestPlain {
		t.Fatalf("member after the change: %+v %v", m, err)
	}
	if a := f.lastAudit(); a.Action != "member.digest" || a.Target != me.Email || a.Actor != me.Email ||
		!strings.Contains(a.Detail, "mode digest") || !strings.Contains(a.Detail, "digest format plain") {
		t.Fatalf("audit %+v", a)
	}
	body = f.do(t, me, "GET", lp("")+"?done=digest", nil).Body.String()
	mustContain(t, body, "were saved", "plain-text digests")
	if m, ff := selected(t, body, "me-mode"), selected(t, body, "me-format"); m != "digest" || ff != "plain" {
		t.Fatalf("the form shows %s, %s after the change", m, ff)
	}

	// The owners see it on the members page.
	mustContain(t, f.do(t, viewer(owner), "GET", lp("members"), nil).Body.String(), "enabled, plain-text digests")

	// Back to regular; without a format field the format stays.
	form = url.Values{"action": {"digest"}, "mode": {"regular"}}
	if w := f.do(t, me, "POST", lp("me"), form); w.Code != http.StatusSeeOther {
		t.Fatalf("POST me: %d", w.Code)
	}
	if m, _ := f.st.GetMember(ctx, testList, me.Email, lists.RoleMember); m.Mode != lists.ModeRegular || m.DigestFormat != lists.DigestPlain {
		t.Fatalf("member: %s %s", m.Mode, m.DigestFormat)
	}
}

func TestMemberDigestFormRefusesBadValues(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	me := viewer(member)
	n := len(f.audits)
	for _, form := range []url.Values{
		{"action": {"digest"}, "mode": {"weekly"}, "format": {"mime"}},
		{"action": {"digest"}, "format": {"mime"}},
		{"action": {"digest"}, "mode": {"digest"}, "format": {"html"}},
	} {
		if w := f.do(t, me, "POST", lp("me"), form); w.Code != http.StatusBadRequest {
			t.Errorf("%v: status %d", form, w.Code)
		}
	}
	m, err := f.st.GetMember(context.Background(), testList, me.Email, lists.RoleMember)
	if err != nil || m.Mode == lists.ModeDigest || m.DigestFormat == lists.DigestPlain {
		t.Fatalf("changed by bad forms: %+v %v", m, err)
	}
	if len(f.audits) != n {
		t.Fatal("bad forms were audited")
	}
	// A list without digests offers no form and refuses digest mode.
	f.setSettings(t, testList, func(s *lists.Settings) { s.DigestEnabled = false })
	if body := f.do(t, me, "GET", lp(""), nil).Body.String(); strings.Contains(body, `id="me-mode"`) {
		t.Error("digest form on a list without digests")
	}
	if w := f.do(t, me, "POST", lp("me"), url.Values{"action": {"digest"}, "mode": {"digest"}}); w.Code != http.StatusBadRequest {
		t.Errorf("digest mode on a list without digests: status %d", w.Code)
	}
	if w := f.do(t, me, "POST", lp("me"), url.Values{"action": {"digest"}, "mode": {"regular"}}); w.Code != http.StatusSeeOther {
		t.Errorf("regular mode on a list without digests: status %d", w.Code)
	}
	// Only members have the form: an owner who is no member gets none.
	if w := f.do(t, viewer(owner), "POST", lp("me"), url.Values{"action": {"digest"}, "mode": {"digest"}}); w.Code == http.StatusSeeOther {
		t.Fatal("a non-member changed a subscription")
	}
}
