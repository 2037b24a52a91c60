package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := newSite(t, true)
	b := s.browser()
	for _, path := range []string{"/login", "/lists", "/nope", "/static/posthorn.css"} {
		r := b.get(path)
		for h, want := range map[string]string{
			"Content-Security-Policy": ContentSecurityPolicy, "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "Strict-Transport-Security": "max-age=31536000",
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
		if path != "/static/posthorn.css" && r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, r.Header.Get("Cache-Control"))
		}
	}
	if !strings.Contains(ContentSecurityPolicy, "frame-ancestors 'none'") || strings.Contains(ContentSecurityPolicy, "unsafe-inline") {
		t.Errorf("CSP %q", ContentSecurityPolicy)
	}
	css := b.get("/static/posthorn.css").want(t, http.StatusOK, "form.auth")
	if css.Header.Get("Cache-Control") != "public, max-age=86400" || css.Header.Get("ETag") == "" || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet headers %v", css.Header)
	}
	req, _ := http.NewRequest("GET", s.srv.URL+"/static/posthorn.css", nil)
	req.Header.Set("If-None-Match", css.Header.Get("ETag"))
	if r := b.do(req); r.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", r.StatusCode)
	}
	// A logged-in page is never cached, even if its handler says otherwise.
	b.login(annEmail, annPass, "").want(t, http.StatusSeeOther)
	if r := b.get("/lists"); r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("logged-in Cache-Control %q", r.Header.Get("Cache-Control"))
	}
}

func TestLoginSuccessAndCookies(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		s := newSite(t, secure)
		b := s.browser()
		lf := b.get("/login?next=/lists/wikitech").want(t, http.StatusOK, `name="next" value="/lists/wikitech"`, `autocomplete="current-password"`)
		anon := lf.cookie("posthorn_csrf")
		if secure {
			anon = lf.cookie("__Host-posthorn_csrf")
		}
		if anon == nil || !anon.HttpOnly || anon.SameSite != http.SameSiteStrictMode || anon.Secure != secure || anon.Path != "/" {
			t.Fatalf("secure=%v: anonymous CSRF cookie %+v", secure, anon)
		}
		b.get("/lists").want(t, http.StatusOK, "anonymous")
		r := b.login(" ANN@example.org", annPass, "/lists/wikitech").want(t, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/lists/wikitech" {
			t.Errorf("redirect to %q", loc)
		}
		c := r.cookie(SessionCookie)
		if c == nil || !c.HttpOnly || c.Secure != secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || len(c.Value) != 43 {
			t.Fatalf("secure=%v: session cookie %+v", secure, c)
		}
		if !strings.Contains(r.Header.Values("Set-Cookie")[0], "HttpOnly") {
			t.Errorf("Set-Cookie %q", r.Header.Values("Set-Cookie"))
		}
		if secure {
			// The jar would not send a Secure cookie over http: carry it by hand.
			req, _ := http.NewRequest("GET", s.srv.URL+"/lists", nil)
			req.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.Value})
			b.do(req).want(t, http.StatusOK, "viewer=ann@example.org")
			continue
		}
		b.get("/lists").want(t, http.StatusOK, "viewer=ann@example.org")
		// Already logged in: the login page sends you on.
		if r := b.get("/login?next=/lists/x").want(t, http.StatusSeeOther); r.Header.Get("Location") != "/lists/x" {
			t.Errorf("logged-in /login → %q", r.Header.Get("Location"))
		}
		if es := s.audit("login"); len(es) != 1 || es[0].Actor != annEmail || !strings.Contains(es[0].Detail, "127.0.0.1") {
			t.Errorf("audit %+v", es)
		}
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	b := s.browser()
	r := b.login(annEmail, annPass, "")
	old := r.cookie(SessionCookie).Value
	page := b.get("/lists").want(t, http.StatusOK)
	tok := strings.TrimPrefix(page.body[strings.Index(page.body, "csrf="):], "csrf=")
	lo := b.post("/logout", url.Values{"csrf": {tok}}).want(t, http.StatusSeeOther)
	if c := lo.cookie(SessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", c)
	}
	b.get("/lists").want(t, http.StatusOK, "anonymous")
	req, _ := http.NewRequest("GET", s.srv.URL+"/lists", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: old})
	b.do(req).want(t, http.StatusOK, "anonymous")
	if es := s.audit("logout"); len(es) != 1 || es[0].Actor != annEmail {
		t.Errorf("audit %+v", es)
	}
}

func TestLoginFailureAndLockout(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	b := s.browser()
	const generic = "The address or the password is not right."
	wrong := b.login(annEmail, "wrong password", "").want(t, http.StatusUnauthorized, generic, `value="ann@example.org"`)
	if wrong.cookie(SessionCookie) != nil {
		t.Error("failed login set a session cookie")
	}
	unknown := b.login("nobody@example.org", annPass, "").want(t, http.StatusUnauthorized, generic)
	if strings.Contains(unknown.body, "no such") || strings.Contains(unknown.body, "unknown") {
		t.Errorf("unknown address told apart:\n%s", unknown.body)
	}
	for range 3 {
		b.login(annEmail, "wrong password", "").want(t, http.StatusUnauthorized, generic)
	}
	b.login(annEmail, "wrong password", "").want(t, http.StatusTooManyRequests, "temporarily locked")
	r := b.login(annEmail, annPass, "").want(t, http.StatusTooManyRequests, "temporarily locked", "reset your password")
	if r.cookie(SessionCookie) != nil {
		t.Error("locked account got a session")
	}
	if es := s.audit("login.failed"); len(es) != 7 || es[0].Actor != annEmail || !strings.Contains(es[0].Detail, "locked until") {
		t.Errorf("audit: %d entries, newest %+v", len(es), es[0])
	}
	s.clock.Advance(16 * 60e9)
	b.login(annEmail, annPass, "").want(t, http.StatusSeeOther)
}

func TestOpenRedirectRefused(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]string{
		"/lists/x?page=2": "/lists/x?page=2", "": "/lists", "//evil.example/": "/lists", "/\\evil.example": "/lists",
		"https://evil.example/": "/lists", "javascript:alert(1)": "/lists", "evil.example": "/lists",
		"/\t/evil.example": "/lists", "/%0d%0aSet-Cookie:x": "/%0d%0aSet-Cookie:x", "/x\x7f": "/lists",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
	s := newSite(t, false)
	b := s.browser()
	if r := b.login(annEmail, annPass, "//evil.example/x").want(t, http.StatusSeeOther); r.Header.Get("Location") != "/lists" {
		t.Errorf("redirected to %q", r.Header.Get("Location"))
	}
	// The login page does not echo a foreign next either.
	b2 := s.browser()
	b2.get("/login?next=https://evil.example/").want(t, http.StatusOK, `name="next" value="/lists"`)
}

func TestRequireLogin(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	b := s.browser()
	r := b.get("/private?a=1").want(t, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/login?next=%2Fprivate%3Fa%3D1" {
		t.Errorf("Location %q", loc)
	}
	tok := b.csrf("/login")
	b.post("/private", url.Values{"csrf": {tok}}).want(t, http.StatusForbidden)
	b.login(annEmail, annPass, "")
	b.get("/private").want(t, http.StatusOK, "viewer=ann@example.org")
}

func TestSecureSite(t *testing.T) {
	t.Parallel()
	for u, want := range map[string]bool{"https://lists.example.org": true, "http://lists.example.org": true,
		"http://127.0.0.1:8080": false, "http://[::1]:8080/": false, "http://localhost:8025": false, "": true, "::": true} {
		if got := SecureSite(u); got != want {
			t.Errorf("SecureSite(%q) = %v, want %v", u, got, want)
		}
	}
}
