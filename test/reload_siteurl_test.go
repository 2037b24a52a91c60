package test

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
)

// unsubscribeLink returns the http(s) List-Unsubscribe URL of the copy of
// a post carrying subject that went to rcpt ("" when there is none).
func unsubscribeLink(msgs []testutil.Received, rcpt, subject string) string {
	for _, m := range msgs {
		data := strings.ReplaceAll(string(m.Data), "\r\n ", " ") // unfold
		if len(m.Rcpts) != 1 || m.Rcpts[0] != rcpt || !strings.Contains(data, subject) {
			continue
		}
		for _, line := range strings.Split(data, "\r\n") {
			v, ok := strings.CutPrefix(line, "List-Unsubscribe: ")
			if !ok {
				continue
			}
			for _, part := range strings.Split(v, ",") {
				if u := strings.Trim(strings.TrimSpace(part), "<>"); strings.HasPrefix(u, "http") {
					return u
				}
			}
		}
	}
	return ""
}

// waitPost posts subject to the list and waits for bob's copy; it returns
// the List-Unsubscribe link of that copy.
func (s *wuiSite) waitPost(t *testing.T, subject string) string {
	t.Helper()
	s.post(t, "alice@example.net", subject, "hello")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if link := unsubscribeLink(s.up.Messages(), "bob@example.net", subject); link != "" {
			return link
		}
		if time.Now().After(deadline) {
			t.Fatalf("no copy of %q with a web List-Unsubscribe link for bob after 30s", subject)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReloadChangesSiteURL: a reload that changes lists.site_url changes
// the links of new mail at once, without a restart: the List-Unsubscribe
// header of the next list post and the link of a password reset mail;
// cookies follow the new URL (https: Secure). A changed [lists] key that
// the list server reads only at start is named in a warning in the log.
func TestReloadChangesSiteURL(t *testing.T) {
	t.Parallel()
	s := startWebUISite(t)
	if link := s.waitPost(t, "before the reload"); !strings.HasPrefix(link, s.base+"/lists/") {
		t.Fatalf("before the reload the link is %q, want it under %s", link, s.base)
	}

	const site = "https://lists.example.test"
	cfg, err := os.ReadFile(s.p.Config)
	if err != nil {
		t.Fatal(err)
	}
	old := `site_url = "` + s.base + `"`
	if !strings.Contains(string(cfg), old) {
		t.Fatalf("config file without %s:\n%s", old, cfg)
	}
	next := strings.Replace(string(cfg), old, `site_url = "`+site+`"`+"\nhold_expiry = \"3d\"", 1)
	if err := os.WriteFile(s.p.Config, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errb := s.p.reload(t); code != 0 {
		t.Fatalf("posthorn reload: exit %d\n%s%s", code, out, errb)
	}

	// The next post carries the new URL, for the same signed token path.
	link := s.waitPost(t, "after the reload")
	if !strings.HasPrefix(link, site+"/lists/") {
		t.Fatalf("after the reload the link is %q, want it under %s", link, site)
	}

	// A password reset asked for after the reload links to the new site.
	// The site is https now, so the anonymous CSRF cookie is a Secure
	// __Host- cookie that a cookie jar would not send back over the test's
	// plain http: send it by hand.
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.base + "/reset")
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, resp)
	var csrfCookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-posthorn_csrf" {
			csrfCookie = ck
		}
	}
	if csrfCookie == nil || !csrfCookie.Secure {
		t.Fatalf("after the reload to %s, the CSRF cookie is %v, want a Secure __Host-posthorn_csrf", site, resp.Header["Set-Cookie"])
	}
	req, err := http.NewRequest(http.MethodPost, s.base+"/reset",
		strings.NewReader(url.Values{"email": {wuiOwner}, "csrf": {csrfOf(t, page)}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: csrfCookie.Name, Value: csrfCookie.Value})
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /reset: %d\n%.1000s", resp.StatusCode, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	var resetMail string
	for resetMail == "" {
		for _, m := range s.up.Messages() {
			if len(m.Rcpts) == 1 && m.Rcpts[0] == wuiOwner {
				resetMail = strings.ReplaceAll(string(m.Data), "\r\n", "\n")
			}
		}
		if resetMail == "" && time.Now().After(deadline) {
			t.Fatal("no reset mail after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(resetMail, site+"/reset/") || strings.Contains(resetMail, s.base) {
		t.Fatalf("the reset mail does not link to %s/reset/:\n%s", site, resetMail)
	}

	// The key that needs a restart is named in the log.
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(s.p.logTail(200), "lists.hold_expiry take effect at the next restart") {
		if time.Now().After(deadline) {
			t.Fatalf("no restart warning for lists.hold_expiry in the log:\n%s", s.p.logTail(40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
