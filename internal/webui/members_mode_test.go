package webui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/testutil"
)

// memberMode reads addr's mode and digest format on testList.
func (f *fixture) memberMode(t testing.TB, addr string) (lists.DeliveryMode, lists.DigestFormat) {
	t.Helper()
	m, err := f.st.GetMember(context.Background(), testList, addr, lists.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	return m.Mode, m.DigestFormat
}

func (f *fixture) auditCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.audits)
}

// modeFormOf finds the owners' delivery form of addr on a members page:
// its row index, with the selects and button that name it by form=.
func modeFormOf(t testing.TB, page, addr string) string {
	t.Helper()
	re := regexp.MustCompile(`<form id="mf-(\d+)" method="post" action="([^"]*)"><input type="hidden" name="csrf" value="([^"]*)"><input type="hidden" name="address" value="([^"]*)"></form>`)
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		if m[4] != addr {
			continue
		}
		if m[2] != lp("members/mode") || m[3] != testCSRF {
			t.Errorf("the form of %s posts to %q with CSRF %q", addr, m[2], m[3])
		}
		i := m[1]
		mustContain(t, page, `<select id="mode-`+i+`" name="mode" form="mf-`+i+`" aria-label="Delivery mode of `+addr+`">`,
			`<select id="fmt-`+i+`" name="format" form="mf-`+i+`" aria-label="Digest format of `+addr+`">`,
			`<button type="submit" form="mf-`+i+`" class="secondary" aria-label="Save the mode and digest format of `+addr+`">Save</button>`)
		return i
	}
	return ""
}

func TestMembersModeOwnerChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addr := viewer(member).Email
	page := f.do(t, viewer(owner), "GET", lp("members"), nil)
	if page.Code != http.StatusOK {
		t.Fatalf("members page: %d", page.Code)
	}
	body := page.Body.String()
	testutil.CheckA11y(t, "members page with the mode forms", body)
	i := modeFormOf(t, body, addr)
	if i == "" {
		t.Fatalf("no delivery form for %s", addr)
	}
	// Only member rows have a mode: no form for the owner's row.
	if modeFormOf(t, body, viewer(owner).Email) != "" {
		t.Errorf("the owner row has a delivery form")
	}
	mustContain(t, body, `<option value="regular" selected>`, `<option value="mime" selected>`)

	w := f.do(t, viewer(owner), "POST", lp("members/mode"), url.Values{"address": {addr}, "mode": {"digest"}, "format": {"plain"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if mode, format := f.memberMode(t, addr); mode != lists.ModeDigest || format != lists.DigestPlain {
		t.Errorf("after the change: %s, %s", mode, format)
	}
	e := f.lastAudit()
	if e.Action != "members.mode" || e.Actor != viewer(owner).Email || e.List != testList || e.Target != addr ||
		e.Detail != "mode regular → digest, digest format mime → plain" {
		t.Errorf("audit %+v", e)
	}
	// Back on the members page, searched for the member, with a notice and
	// the new values selected.
	loc := w.Header().Get("Location")
	if !strings.HasPrefix(loc, lp("members")+"?") || !strings.Contains(loc, "q="+url.QueryEscape(addr)) {
		t.Fatalf("redirect to %q", loc)
	}
	back := f.do(t, viewer(owner), "GET", loc, nil).Body.String()
	testutil.CheckA11y(t, "members page after a mode change", back)
	if modeFormOf(t, back, addr) == "" {
		t.Errorf("no delivery form for %s after the change", addr)
	}
	mustContain(t, back, "The delivery mode and digest format were saved.",
		`<option value="digest" selected>digest</option>`, `<option value="plain" selected>plain-text digests</option>`)

	// A site admin may too; back to regular, MIME.
	w = f.do(t, viewer(admin), "POST", lp("members/mode"), url.Values{"address": {strings.ToUpper(addr)}, "mode": {"regular"}, "format": {"mime"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("admin: status %d", w.Code)
	}
	if mode, format := f.memberMode(t, addr); mode != lists.ModeRegular || format != lists.DigestMIME {
		t.Errorf("after the admin's change: %s, %s", mode, format)
	}
	if e := f.lastAudit(); e.Actor != viewer(admin).Email || e.Target != addr {
		t.Errorf("audit %+v", e)
	}
}

func TestMembersModeRefusedBelowOwner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addr := viewer(member).Email
	form := url.Values{"address": {addr}, "mode": {"digest"}, "format": {"plain"}}
	for _, who := range []string{anonymous, other, member, moderator} {
		w := f.do(t, viewer(who), "POST", lp("members/mode"), form)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", who, w.Code)
		}
	}
	if mode, format := f.memberMode(t, addr); mode != lists.ModeRegular || format != lists.DigestMIME {
		t.Errorf("changed by a refused request: %s, %s", mode, format)
	}
	if n := f.auditCount(); n != 0 {
		t.Errorf("%d audit entries after refused requests", n)
	}
	if w := f.do(t, viewer(owner), "POST", listPath("nope@lists.example.org", "members/mode"), form); w.Code != http.StatusNotFound {
		t.Errorf("unknown list: status %d, want 404", w.Code)
	}
}

func TestMembersModeBadValues(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addr := viewer(member).Email
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"unknown mode", url.Values{"address": {addr}, "mode": {"weekly"}, "format": {"plain"}}, 400, `Delivery mode &#34;weekly&#34; is unknown: choose regular or digest.`},
		{"no mode", url.Values{"address": {addr}, "format": {"plain"}}, 400, `Delivery mode &#34;&#34; is unknown`},
		{"unknown format", url.Values{"address": {addr}, "mode": {"digest"}, "format": {"pdf"}}, 400, `Digest format &#34;pdf&#34; is unknown: choose mime or plain.`},
		{"no format", url.Values{"address": {addr}, "mode": {"digest"}}, 400, `Digest format &#34;&#34; is unknown`},
		{"no address", url.Values{"mode": {"digest"}, "format": {"plain"}}, 400, "Name the member"},
		{"not an address", url.Values{"address": {"nobody"}, "mode": {"digest"}, "format": {"plain"}}, 400, "nobody"},
		{"not a member", url.Values{"address": {"stranger@example.net"}, "mode": {"digest"}, "format": {"plain"}}, 404, "stranger@example.net"},
		{"a moderator row", url.Values{"address": {viewer(moderator).Email}, "mode": {"digest"}, "format": {"plain"}}, 404, viewer(moderator).Email},
	} {
		w := f.do(t, viewer(owner), "POST", lp("members/mode"), c.form)
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d", c.name, w.Code, c.status)
			continue
		}
		mustContain(t, w.Body.String(), c.says)
		testutil.CheckA11y(t, c.name, w.Body.String())
	}
	if mode, format := f.memberMode(t, addr); mode != lists.ModeRegular || format != lists.DigestMIME {
		t.Errorf("changed by a refused request: %s, %s", mode, format)
	}
	if n := f.auditCount(); n != 0 {
		t.Errorf("%d audit entries after refused requests", n)
	}

	// A list without digests refuses digest mode, and says so on the page.
	f.setSettings(t, testList, func(s *lists.Settings) { s.DigestEnabled = false })
	w := f.do(t, viewer(owner), "POST", lp("members/mode"), url.Values{"address": {addr}, "mode": {"digest"}, "format": {"plain"}})
	if w.Code != http.StatusBadRequest {
		t.Fatalf("digest on a list without digests: status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "This list does not send digests")
	if mode, _ := f.memberMode(t, addr); mode != lists.ModeRegular {
		t.Errorf("mode %s on a list without digests", mode)
	}
	page := f.do(t, viewer(owner), "GET", lp("members"), nil).Body.String()
	mustContain(t, page, `<option value="digest" disabled>digest</option>`, "This list does not send digests")
	testutil.CheckA11y(t, "members page of a list without digests", page)
	// The format alone may still change.
	w = f.do(t, viewer(owner), "POST", lp("members/mode"), url.Values{"address": {addr}, "mode": {"regular"}, "format": {"plain"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("format only: status %d", w.Code)
	}
	if mode, format := f.memberMode(t, addr); mode != lists.ModeRegular || format != lists.DigestPlain {
		t.Errorf("format only: %s, %s", mode, format)
	}
}
