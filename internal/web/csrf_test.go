package web

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// pageToken returns the session's CSRF token as a page sees it.
func pageToken(t *testing.T, b *browser) string {
	t.Helper()
	body := b.get("/lists").want(t, http.StatusOK, "viewer=").body
	_, tok, _ := strings.Cut(body, "csrf=")
	if len(tok) != 43 {
		t.Fatalf("token %q", tok)
	}
	return tok
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	b := s.browser()
	anonTok := b.csrf("/login")
	// The login form itself is protected.
	b.post("/login", url.Values{"email": {annEmail}, "password": {annPass}}).want(t, http.StatusForbidden, "did not come from this site")
	b.post("/login", url.Values{"csrf": {anonTok + "x"}, "email": {annEmail}, "password": {annPass}}).want(t, http.StatusForbidden)
	other := s.browser() // another visitor's token is not mine
	b.post("/login", url.Values{"csrf": {other.csrf("/login")}, "email": {annEmail}, "password": {annPass}}).want(t, http.StatusForbidden)
	if es := s.audit("login"); len(es) != 0 {
		t.Fatalf("refused forms logged in: %+v", es)
	}

	b.login(annEmail, annPass, "").want(t, http.StatusSeeOther)
	tok := pageToken(t, b)
	if tok == anonTok {
		t.Fatal("session token equals the anonymous one")
	}
	b.post("/lists/act", url.Values{"x": {"1"}}).want(t, http.StatusForbidden, "nothing was changed")
	b.post("/lists/act", url.Values{"x": {"1"}, "csrf": {"wrong"}}).want(t, http.StatusForbidden)
	b.post("/lists/act", url.Values{"x": {"1"}, "csrf": {anonTok}}).want(t, http.StatusForbidden)
	b.post("/lists/act", url.Values{"x": {"1"}, "csrf": {tok}}).want(t, http.StatusOK, "done 1")
	b.post("/lists/act", url.Values{"x": {"2"}}, CSRFHeader, tok).want(t, http.StatusOK, "done 2")
	// Even with the right token, a request the browser marks cross-site is refused.
	b.post("/lists/act", url.Values{"x": {"3"}, "csrf": {tok}}, "Sec-Fetch-Site", "cross-site").want(t, http.StatusForbidden)
	b.post("/lists/act", url.Values{"x": {"4"}, "csrf": {tok}}, "Sec-Fetch-Site", "same-origin").want(t, http.StatusOK, "done 4")

	// Multipart forms (CSV import) carry the token as a field; the handler
	// still reads the parsed form.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", tok)
	mw.WriteField("x", "5")
	fw, _ := mw.CreateFormFile("file", "members.csv")
	fw.Write([]byte("address\nann@example.org\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", s.srv.URL+"/lists/act", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	b.do(req).want(t, http.StatusOK, "done 5")

	// A PUT or DELETE needs it too.
	req, _ = http.NewRequest("DELETE", s.srv.URL+"/lists/act", nil)
	b.do(req).want(t, http.StatusForbidden)
}

func TestAPITokensOnlyUnderAPI(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	ctx := context.Background()
	u, err := s.acc.Get(ctx, annEmail)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.acc.NewAPIToken(ctx, u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	withToken := func(method, path, token string) response {
		req, _ := http.NewRequest(method, s.srv.URL+path, strings.NewReader("a=1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		return b.do(req)
	}
	withToken("GET", "/api/v1/me", tok).want(t, http.StatusOK, "viewer=ann@example.org")
	// No CSRF token needed with a bearer token.
	withToken("POST", "/api/v1/act", tok).want(t, http.StatusOK, "viewer=ann@example.org")
	// Not accepted outside /api/.
	r := withToken("GET", "/lists", tok).want(t, http.StatusUnauthorized, "only under /api/")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate")
	}
	withToken("POST", "/lists/act", tok).want(t, http.StatusUnauthorized)
	// Bad and revoked tokens.
	r = withToken("GET", "/api/v1/me", tok+"x").want(t, http.StatusUnauthorized)
	var e map[string]string
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e["error"] == "" {
		t.Errorf("error body %q", r.body)
	}
	infos, _ := s.acc.APITokens(ctx, u.ID)
	if err := s.acc.RevokeAPIToken(ctx, u.ID, infos[0].ID); err != nil {
		t.Fatal(err)
	}
	withToken("GET", "/api/v1/me", tok).want(t, http.StatusUnauthorized)
	// A browser session on /api/ still needs the CSRF header for changes.
	b.login(annEmail, annPass, "")
	ptok := pageToken(t, b)
	b.post("/api/v1/act", url.Values{}).want(t, http.StatusForbidden, CSRFHeader)
	b.post("/api/v1/act", url.Values{}, CSRFHeader, ptok).want(t, http.StatusOK, "viewer=ann@example.org")
}

// TestSelfAuthenticating: a one-click unsubscribe POST needs no CSRF token
// and is served as anonymous even with a session cookie; any other POST
// still needs the token.
func TestSelfAuthenticating(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	b := s.browser()
	if r := b.post("/lists/x/unsubscribe", url.Values{"List-Unsubscribe": {"One-Click"}}); r.StatusCode != http.StatusOK || r.body != "anonymous" {
		t.Fatalf("anonymous one-click POST: %d %q", r.StatusCode, r.body)
	}
	if r := b.login(annEmail, annPass, "/lists"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	if r := b.post("/lists/x/unsubscribe", url.Values{"List-Unsubscribe": {"One-Click"}}); r.StatusCode != http.StatusOK || r.body != "anonymous" {
		t.Fatalf("one-click POST with a session: %d %q, want it served as anonymous", r.StatusCode, r.body)
	}
	if r := b.post("/lists/act", url.Values{"x": {"1"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("another POST without a token: %d, want 403", r.StatusCode)
	}
}
