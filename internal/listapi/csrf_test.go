package listapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// TestSessionNeedsCSRF: a browser session may use the API (the site's own
// pages could), but an unsafe request that rides on the cookie alone, as
// a forged cross-site one would, is refused by the web middleware before
// it reaches the API, and nothing changes.
func TestSessionNeedsCSRF(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok, _, err := f.acc.NewSession(t.Context(), f.users[owner].ID, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cookie := &http.Cookie{Name: web.SessionCookie, Value: tok}
	do := func(method, path, csrf string, body string) response {
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		req.AddCookie(cookie)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if csrf != "" {
			req.Header.Set(web.CSRFHeader, csrf)
		}
		return f.send(t, req)
	}
	add := `{"members": [{"address": "forged@example.net"}]}`
	if res := do("POST", lp("members"), "", add); res.Status != http.StatusForbidden {
		t.Errorf("cookie without CSRF token: %d %s", res.Status, res.Body)
	}
	if res := do("POST", lp("members"), "wrong-token-wrong-token-wrong-token-wrong-t", add); res.Status != http.StatusForbidden {
		t.Errorf("cookie with a wrong CSRF token: %d %s", res.Status, res.Body)
	}
	if res := do("DELETE", lp("members/"+emailOf(member)), "", ""); res.Status != http.StatusForbidden {
		t.Errorf("DELETE with cookie without CSRF token: %d %s", res.Status, res.Body)
	}
	if res := do("PATCH", lp("settings"), "", `{"settings": {"advertised": false}, "reason": "x"}`); res.Status != http.StatusForbidden {
		t.Errorf("PATCH with cookie without CSRF token: %d %s", res.Status, res.Body)
	}
	if _, err := f.st.GetMember(t.Context(), testList, "forged@example.net", lists.RoleMember); err == nil {
		t.Error("a forged request added a member")
	}
	if _, err := f.st.GetMember(t.Context(), testList, emailOf(member), lists.RoleMember); err != nil {
		t.Errorf("a forged request removed a member: %v", err)
	}
	if n := len(f.audits(t, testList)); n != 0 {
		t.Errorf("%d audit entries after forged requests", n)
	}

	// Reading needs no token; the session's own token lets it write.
	if res := do("GET", lp("members"), "", ""); res.Status != http.StatusOK {
		t.Errorf("GET with cookie: %d", res.Status)
	}
	csrf := do("GET", "/csrf", "", "")
	if res := do("POST", lp("members"), string(csrf.Body), add); res.Status != http.StatusOK {
		t.Errorf("cookie with its CSRF token: %d %s", res.Status, res.Body)
	}
	if a := f.lastAudit(t, testList); a.Actor != emailOf(owner) || a.Action != "members.add" {
		t.Errorf("audit %+v", a)
	}
}

// TestBearerNeedsNoCSRF: a token request carries no CSRF token and is
// served (the middleware skips the check for Authorization: Bearer).
func TestBearerNeedsNoCSRF(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req, _ := http.NewRequest("POST", f.srv.URL+lp("members"), strings.NewReader(`{"members": [{"address": "x@example.net"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.tokens[owner])
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := f.send(t, req); res.Status != http.StatusOK {
		t.Errorf("token request: %d %s", res.Status, res.Body)
	}
}

// TestModerationFailureKeepsPost: when the approved post cannot be
// queued, the post stays held and the answer says so (503).
func TestModerationFailureKeepsPost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.hold(t, "stranger@example.net", "unlucky", post("stranger@example.net", "unlucky", "hello"))
	f.rec.setFail(true)
	res := f.call(t, moderator, "POST", lp(fmt.Sprintf("held/%d", id)), map[string]any{"action": "approve"})
	if res.Status != http.StatusServiceUnavailable || strings.Contains(string(res.Body), "spool full") {
		t.Errorf("approve with a full spool: %d %s", res.Status, res.Body)
	}
	if h, _ := f.st.GetHeld(t.Context(), testList, id); h.State != lists.HeldWaiting {
		t.Errorf("state %s, want held", h.State)
	}
	if a := f.lastAudit(t, testList); a.Action != "held.approve" || a.Detail != " (0 done, 1 failed)" {
		t.Errorf("audit %+v", a)
	}
	f.rec.setFail(false)
	if res := f.call(t, moderator, "POST", lp(fmt.Sprintf("held/%d", id)), map[string]any{"action": "approve"}); res.Status != http.StatusOK {
		t.Errorf("retry: %d %s", res.Status, res.Body)
	}
}

// TestLargeBodyRefused: bodies past the limit are 413, not read whole.
func TestLargeBodyRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var b bytes.Buffer
	b.WriteString(`{"reason": "`)
	b.Write(bytes.Repeat([]byte("x"), maxBody+10))
	b.WriteString(`", "settings": {"advertised": false}}`)
	req, _ := http.NewRequest("PATCH", f.srv.URL+lp("settings"), io.NopCloser(&b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.tokens[owner])
	if res := f.send(t, req); res.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", res.Status)
	}
}
