package listapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

func TestMemberModePatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addr := emailOf(member)
	res := f.call(t, owner, "PATCH", lp("members/"+addr), map[string]any{"mode": "digest", "digest_format": "plain"})
	var got memberJSON
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || got.Address != addr || got.Role != "member" || got.Mode != "digest" || got.DigestFormat != "plain" {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	if a := f.lastAudit(t, testList); a.Actor != emailOf(owner) || a.Action != "members.mode" || a.Target != addr ||
		a.Detail != "mode regular → digest, digest format mime → plain" {
		t.Errorf("audit %+v", a)
	}
	// The listing shows the new values.
	var page struct{ Members []memberJSON }
	f.call(t, owner, "GET", lp("members")+"?prefix="+addr, nil).decodeInto(t, &page)
	if len(page.Members) != 1 || page.Members[0].Mode != "digest" || page.Members[0].DigestFormat != "plain" {
		t.Errorf("listing: %+v", page.Members)
	}

	// One field alone leaves the other; values are case-insensitive.
	res = f.call(t, admin, "PATCH", lp("members/"+strings.ToUpper(addr)), map[string]any{"mode": "Regular"})
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || got.Mode != "regular" || got.DigestFormat != "plain" {
		t.Errorf("mode only: %d %s", res.Status, res.Body)
	}
	if a := f.lastAudit(t, testList); a.Actor != emailOf(admin) || a.Detail != "mode digest → regular" {
		t.Errorf("audit %+v", a)
	}
	res = f.call(t, owner, "PATCH", lp("members/"+addr), map[string]any{"digest_format": "mime"})
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || got.Mode != "regular" || got.DigestFormat != "mime" {
		t.Errorf("format only: %d %s", res.Status, res.Body)
	}
}

func TestMemberModePatchRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addr := emailOf(member)
	before := len(f.audits(t, testList))
	for _, c := range []struct {
		name   string
		path   string
		body   any
		status int
		field  string
		says   string
	}{
		{"unknown mode", addr, map[string]any{"mode": "weekly", "digest_format": "plain"}, 400, "mode", `mode "weekly": want regular or digest`},
		{"unknown format", addr, map[string]any{"mode": "digest", "digest_format": "pdf"}, 400, "digest_format", `digest_format "pdf": want mime or plain`},
		{"empty mode", addr, map[string]any{"mode": ""}, 400, "mode", `mode "": want regular or digest`},
		{"nothing to change", addr, map[string]any{}, 400, "", "name what to change"},
		{"nulls only", addr, map[string]any{"mode": nil, "digest_format": nil}, 400, "", "name what to change"},
		{"a number", addr, map[string]any{"mode": 1}, 400, "mode", "want a JSON string"},
		{"unknown key", addr, map[string]any{"mode": "digest", "delivery": "disabled"}, 400, "", "unknown field"},
		{"not an address", "nonsense", map[string]any{"mode": "digest"}, 400, "address", "not an email address"},
		{"not a member", "stranger@example.net", map[string]any{"mode": "digest"}, 404, "", "no such member stranger@example.net"},
		{"a moderator row", emailOf(moderator), map[string]any{"mode": "digest"}, 404, "", "no such member"},
	} {
		res := f.call(t, owner, "PATCH", lp("members/"+c.path), c.body)
		if res.Status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, res.Status, c.status, res.Body)
			continue
		}
		m := res.JSON(t)
		msg, _ := m["error"].(string)
		field, _ := m["field"].(string)
		if !strings.Contains(msg, c.says) || field != c.field {
			t.Errorf("%s: error %q field %q, want %q field %q", c.name, msg, field, c.says, c.field)
		}
	}
	// Without a JSON body.
	if res := f.call(t, owner, "PATCH", lp("members/"+addr), nil); res.Status != http.StatusUnsupportedMediaType {
		t.Errorf("no body: %d %s", res.Status, res.Body)
	}

	// A list that sends no digests refuses digest mode, not the format.
	l, err := f.st.GetList(t.Context(), testList)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Settings
	s.DigestEnabled = false
	if _, _, err := f.st.ChangeSettings(t.Context(), testList, s, lists.Change{Author: "t", Reason: "no digests", Confirm: true}); err != nil {
		t.Fatal(err)
	}
	res := f.call(t, owner, "PATCH", lp("members/"+addr), map[string]any{"mode": "digest"})
	if res.Status != http.StatusConflict || !strings.Contains(res.JSON(t)["error"].(string), "does not send digests") {
		t.Errorf("digest on a list without digests: %d %s", res.Status, res.Body)
	}
	if m, err := f.st.GetMember(t.Context(), testList, addr, lists.RoleMember); err != nil || m.Mode != lists.ModeRegular || m.DigestFormat != lists.DigestMIME {
		t.Errorf("changed by refused requests: %+v, %v", m, err)
	}
	if n := len(f.audits(t, testList)); n != before {
		t.Errorf("%d audit entries after refused requests, want %d", n, before)
	}
	if res := f.call(t, owner, "PATCH", lp("members/"+addr), map[string]any{"digest_format": "plain"}); res.Status != http.StatusOK {
		t.Errorf("format on a list without digests: %d %s", res.Status, res.Body)
	}
}
