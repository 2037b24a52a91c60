package accountweb

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/testutil"
)

var secretRe = regexp.MustCompile(`value="(ph_[A-Za-z0-9_-]{43})"`)

// makeToken creates a token named name in b's account and returns its
// secret from the response page.
func makeToken(t *testing.T, b *browser, name string) string {
	t.Helper()
	res := b.post("/account/tokens", b.with(url.Values{"name": {name}})).want(t, http.StatusOK, "shown this once", name)
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q on the page with the secret", cc)
	}
	testutil.CheckA11y(t, "the new token page", res.body)
	m := secretRe.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no token on the page:\n%s", res.body)
	}
	return m[1]
}

// api sends GET /api/v1/me with token as Bearer from a client without
// cookies.
func (s *site) api(token string) response {
	s.t.Helper()
	return s.browser().get("/api/v1/me", "Authorization", "Bearer "+token)
}

func TestTokens(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.login(annEmail, annPass)

	b.post("/account/tokens", b.with(url.Values{"name": {"  "}})).want(t, http.StatusUnprocessableEntity, "No token was made")
	b.post("/account/tokens", b.with(url.Values{"name": {strings.Repeat("n", 101)}})).want(t, http.StatusUnprocessableEntity, "at most 100")
	if ts := s.tokens(s.ann); len(ts) != 0 {
		t.Fatalf("refused names made tokens: %+v", ts)
	}

	secret := makeToken(t, b, "member sync")
	ts := s.tokens(s.ann)
	if len(ts) != 1 || ts[0].Name != "member sync" || ts[0].Revoked {
		t.Fatalf("tokens %+v", ts)
	}
	// The token authenticates API requests as ann.
	s.api(secret).want(t, http.StatusOK, "viewer="+annEmail)
	// The list shows it, with its last use, but never the secret again.
	page := b.get("/account").want(t, http.StatusOK, "member sync", "Last used", "acts as you", "Created",
		fmt.Sprintf(`action="/account/tokens/%d/revoke"`, ts[0].ID)).body
	if strings.Contains(page, secret) || strings.Contains(page, secret[3:]) {
		t.Fatal("the secret is shown again")
	}
	if strings.Contains(page, ">never<") {
		t.Fatal("last use not shown after a use")
	}
	es := s.audit("token.create")
	if len(es) != 1 || es[0].Actor != annEmail || es[0].Target != fmt.Sprintf("api-token:%d", ts[0].ID) ||
		!strings.Contains(es[0].Detail, "member sync") || strings.Contains(es[0].Detail, secret) {
		t.Fatalf("create audit %+v", es)
	}

	res := b.post(fmt.Sprintf("/account/tokens/%d/revoke", ts[0].ID), b.with(nil)).want(t, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/account?done=revoked" {
		t.Fatalf("Location %q", loc)
	}
	b.get("/account?done=revoked").want(t, http.StatusOK, "has been revoked", "revoked")
	s.api(secret).want(t, http.StatusUnauthorized)
	es = s.audit("token.revoke")
	if len(es) != 1 || es[0].Target != fmt.Sprintf("api-token:%d", ts[0].ID) || !strings.Contains(es[0].Detail, "member sync") {
		t.Fatalf("revoke audit %+v", es)
	}
	// Revoking it again changes nothing and is not audited twice.
	b.post(fmt.Sprintf("/account/tokens/%d/revoke", ts[0].ID), b.with(nil)).want(t, http.StatusSeeOther)
	if es := s.audit("token.revoke"); len(es) != 1 {
		t.Fatalf("audited twice: %+v", es)
	}
}

func TestTokensAreOwn(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ann := s.browser()
	ann.login(annEmail, annPass)
	bob := s.browser()
	bob.login(bobEmail, bobPass)
	bobSecret := makeToken(t, bob, "bob monitoring")
	bobTok := s.tokens(s.bob)[0]

	// Ann does not see bob's token.
	page := ann.get("/account").want(t, http.StatusOK).body
	if strings.Contains(page, "monitoring") || strings.Contains(page, fmt.Sprintf("/account/tokens/%d/", bobTok.ID)) {
		t.Fatal("ann sees bob's token")
	}
	// Nor can she revoke it, by id or by anything else in the URL.
	for _, id := range []string{fmt.Sprint(bobTok.ID), "0", "-1", "abc", "99999"} {
		ann.post("/account/tokens/"+id+"/revoke", ann.with(nil)).want(t, http.StatusNotFound, "no such token")
	}
	if ts := s.tokens(s.bob); len(ts) != 1 || ts[0].Revoked {
		t.Fatalf("bob's token after ann's attempts: %+v", ts)
	}
	s.api(bobSecret).want(t, http.StatusOK, "viewer="+bobEmail)
	if es := s.audit("token.revoke"); len(es) != 0 {
		t.Fatalf("refused revocations audited: %+v", es)
	}
	// A form field naming another user changes nothing: the account is
	// the session's.
	ann.post("/account/tokens", ann.with(url.Values{"name": {"mine"}, "user": {fmt.Sprint(s.bob.ID)}, "user_id": {fmt.Sprint(s.bob.ID)}})).
		want(t, http.StatusOK)
	if len(s.tokens(s.ann)) != 1 || len(s.tokens(s.bob)) != 1 {
		t.Fatal("token made for the wrong user")
	}
}
