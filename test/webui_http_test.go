package test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The web interface seen by a plain HTTP client: logins with the CSRF
// token of the login page, and the refusals of TestWebUI.

// wuiClient is a plain HTTP client with its own cookie jar that does not
// follow redirects (they are checked).
func wuiClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *wuiSite) get(t *testing.T, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp)
}

func (s *wuiSite) postForm(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(s.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp)
}

// httpLogin logs c in through the login form: the anonymous CSRF token
// comes from the page and its double-submit cookie. It returns the
// session's CSRF token, read from a page after the login.
func (s *wuiSite) httpLogin(t *testing.T, c *http.Client, email string) string {
	t.Helper()
	resp, page := s.get(t, c, "/login")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login: %d", resp.StatusCode)
	}
	anon := csrfOf(t, page)
	resp, body := s.postForm(t, c, "/login", url.Values{"email": {email}, "password": {wuiPassword}, "next": {"/lists"}, "csrf": {anon}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/lists" {
		t.Fatalf("POST /login as %s: %d to %q, want 303 to /lists\n%.1000s", email, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "posthorn_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Errorf("session cookie %+v, want HttpOnly, SameSite=Lax, Path=/", session)
	}
	resp, page = s.get(t, c, "/lists")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<span class="who">`+email+`</span>`) {
		t.Fatalf("after login, /lists: %d, logged in as %s not shown", resp.StatusCode, email)
	}
	tok := csrfOf(t, page)
	if tok == anon {
		t.Errorf("the session's CSRF token is the anonymous one")
	}
	return tok
}

// checkRefusals: an outsider (owner of another list) gets 403 on every
// page and form of this list; forms without their token are refused for
// everyone, the moderator included; an anonymous reader sees nothing.
// heldID is a post still held; it must stay held.
func (s *wuiSite) checkRefusals(t *testing.T, heldID int64) {
	historyBefore := s.p.cli(t, "lists", "history", wuiList, "--json")
	forbidden := func(who string, resp *http.Response, body, why string) {
		t.Helper()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, why) {
			t.Errorf("%s %s %s: %d, want 403 saying %q\n%.1500s", who, resp.Request.Method, resp.Request.URL.Path,
				resp.StatusCode, why, body)
		}
	}
	const notYours = "You may not see this page of " + wuiList
	const noToken = "did not come from this site"

	out := wuiClient(t)
	tok := s.httpLogin(t, out, wuiOutsider)
	if resp, _ := s.get(t, out, wuiPath(wuiOther, "settings")); resp.StatusCode != http.StatusOK {
		t.Errorf("the outsider's own list settings: %d, want 200 (the login works)", resp.StatusCode)
	}
	for _, sub := range []string{"held", "held/" + itoa(heldID), "settings", "members", "members.csv", "history", "decisions"} {
		resp, body := s.get(t, out, wuiPath(wuiList, sub))
		forbidden("outsider", resp, body, notYours)
		if strings.Contains(body, "wui-body-two") || strings.Contains(body, "Second stranger post") {
			t.Errorf("outsider's %s page shows the held post", sub)
		}
	}
	approve := url.Values{"one": {"approve:" + itoa(heldID)}}
	resp, body := s.postForm(t, out, wuiPath(wuiList, "held"), approve)
	forbidden("outsider without csrf", resp, body, noToken)
	withTok := url.Values{"one": {"approve:" + itoa(heldID)}, "csrf": {tok}}
	resp, body = s.postForm(t, out, wuiPath(wuiList, "held"), withTok)
	forbidden("outsider with its csrf", resp, body, notYours)
	resp, body = s.postForm(t, out, wuiPath(wuiList, "settings"),
		url.Values{"csrf": {tok}, "max_message_size": {"1"}, "step": {"apply"}, "reason": {"x"}})
	forbidden("outsider with its csrf", resp, body, notYours)

	// The moderator may approve, but not with a form lacking its token or
	// carrying another session's.
	mod := wuiClient(t)
	modTok := s.httpLogin(t, mod, wuiMod)
	resp, body = s.postForm(t, mod, wuiPath(wuiList, "held"), approve)
	forbidden("moderator without csrf", resp, body, noToken)
	resp, body = s.postForm(t, mod, wuiPath(wuiList, "held"), withTok)
	forbidden("moderator with the outsider's csrf", resp, body, noToken)
	if modTok == tok {
		t.Errorf("two sessions share a CSRF token")
	}

	// Nobody logged in: no page, no action.
	anon := wuiClient(t)
	resp, body = s.get(t, anon, wuiPath(wuiList, "held"))
	if resp.StatusCode == http.StatusOK || strings.Contains(body, "Second stranger post") {
		t.Errorf("anonymous GET of the held page: %d, want a refusal or a redirect to /login", resp.StatusCode)
	} else if resp.StatusCode != http.StatusForbidden &&
		!(resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login")) {
		t.Errorf("anonymous GET of the held page: %d to %q, want 403 or a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := s.get(t, anon, "/login")
	resp, body = s.postForm(t, anon, wuiPath(wuiList, "held"), url.Values{"one": {"approve:" + itoa(heldID)}, "csrf": {csrfOf(t, page)}})
	forbidden("anonymous with its csrf", resp, body, notYours)

	if held := s.heldPosts(t); len(held) != 1 || held[0].ID != heldID {
		t.Errorf("after the refused forms, held %+v, want #%d still held", held, heldID)
	}
	if after := s.p.cli(t, "lists", "history", wuiList, "--json"); after != historyBefore {
		t.Errorf("the refused settings form changed the history:\n%s", after)
	}
	for _, m := range s.up.Messages() {
		if strings.Contains(string(m.Data), "\r\n\r\nwui-body-two") {
			t.Errorf("the held post went out to %v after refused forms", m.Rcpts)
		}
	}
}

// TestPasswordResetThroughRelay: a reset request on the web interface
// sends the link by mail through the daemon's own queue and upstream; the
// link sets a new password that then logs in, and is single use.
func TestPasswordResetThroughRelay(t *testing.T) {
	t.Parallel()
	s := startWebUISite(t)
	c := wuiClient(t)
	resp, page := s.get(t, c, "/reset")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /reset: %d", resp.StatusCode)
	}
	resp, body := s.postForm(t, c, "/reset", url.Values{"email": {wuiOwner}, "csrf": {csrfOf(t, page)}})
	if resp.StatusCode >= 400 {
		t.Fatalf("POST /reset: %d\n%.1000s", resp.StatusCode, body)
	}
	msgs := s.up.Wait(t, 1, 20*time.Second)
	m := msgs[0]
	if len(m.Rcpts) != 1 || m.Rcpts[0] != wuiOwner || m.From != "" {
		t.Fatalf("reset mail from %q to %v, want the null sender to %s", m.From, m.Rcpts, wuiOwner)
	}
	data := strings.ReplaceAll(string(m.Data), "\r\n", "\n")
	i := strings.Index(data, s.base+"/reset/")
	if i < 0 {
		t.Fatalf("no reset link to %s in the mail:\n%s", s.base, data)
	}
	link := strings.Fields(data[i:])[0]
	path := strings.TrimPrefix(link, s.base)

	resp, page = s.get(t, c, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%.1000s", path, resp.StatusCode, page)
	}
	const newPassword = "a much better passphrase"
	form := url.Values{"password": {newPassword}, "confirm": {newPassword}, "csrf": {csrfOf(t, page)}}
	resp, body = s.postForm(t, c, path, form)
	if resp.StatusCode >= 400 {
		t.Fatalf("POST %s: %d\n%.1000s", path, resp.StatusCode, body)
	}
	// The new password logs in; the link is used up.
	c2 := wuiClient(t)
	_, page = s.get(t, c2, "/login")
	resp, _ = s.postForm(t, c2, "/login", url.Values{"email": {wuiOwner}, "password": {newPassword}, "next": {"/lists"}, "csrf": {csrfOf(t, page)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with the new password: %d", resp.StatusCode)
	}
	if resp, _ = s.get(t, wuiClient(t), path); resp.StatusCode == http.StatusOK {
		t.Errorf("the reset link still works after use")
	}
}

// TestOneClickUnsubscribe: the List-Unsubscribe URL of a distributed copy,
// POSTed the RFC 8058 way (no cookies, no CSRF token), unsubscribes that
// member and no one else.
func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	s := startWebUISite(t)
	s.post(t, "alice@example.net", "one click", "hello")
	var link string
	for _, m := range s.up.Wait(t, 2, 20*time.Second) {
		if m.Rcpts[0] != "bob@example.net" {
			continue
		}
		for _, line := range strings.Split(strings.ReplaceAll(string(m.Data), "\r\n ", " "), "\r\n") {
			if v, ok := strings.CutPrefix(line, "List-Unsubscribe: "); ok {
				for _, part := range strings.Split(v, ",") {
					if u := strings.Trim(strings.TrimSpace(part), "<>"); strings.HasPrefix(u, "http") {
						link = u
					}
				}
			}
		}
	}
	if !strings.HasPrefix(link, s.base+"/lists/") {
		t.Fatalf("no web List-Unsubscribe link to %s in bob's copy (%q)", s.base, link)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click POST: %d\n%.1000s", resp.StatusCode, body)
	}
	members := s.p.cli(t, "members", "list", wuiList)
	if strings.Contains(members, "bob@example.net") || !strings.Contains(members, "alice@example.net") {
		t.Fatalf("after bob's one-click unsubscribe the members are:\n%s", members)
	}
}
