package accountweb

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/testutil"
)

func TestAnonymous(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	res := b.get("/account").want(t, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/login?next=%2Faccount" {
		t.Fatalf("Location %q", loc)
	}
	// With a valid anonymous CSRF token, the actions are still refused.
	tok := b.csrf("/login")
	b.post("/account/password", url.Values{"csrf": {tok}, "current": {annPass}, "password": {"a new long password"},
		"confirm": {"a new long password"}}).want(t, http.StatusForbidden)
	b.post("/account/tokens", url.Values{"csrf": {tok}, "name": {"x"}}).want(t, http.StatusForbidden)
	if len(s.tokens(s.ann)) != 0 || len(s.tokens(s.bob)) != 0 {
		t.Fatal("anonymous request made a token")
	}
	s.browser().login(annEmail, annPass) // password unchanged
}

func TestPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.login(annEmail, annPass)
	res := b.get("/account").want(t, http.StatusOK, annEmail, "Ann Example", "owner of", `href="/lists/dev@lists.example.org"`,
		"moderator of", "ops@lists.example.org", "You have no API tokens.", `action="/account/password"`,
		`<a href="/account">Account</a>`) // the layout's link for logged-in users
	if strings.Contains(res.body, "Site administrator") {
		t.Fatal("ann shown as site admin")
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	testutil.CheckA11y(t, "/account", res.body)

	bob := s.browser()
	bob.login(bobEmail, bobPass)
	res = bob.get("/account").want(t, http.StatusOK, bobEmail, "Site administrator")
	if strings.Contains(res.body, "dev@lists.example.org") {
		t.Fatal("bob shown ann's roles")
	}
	b.get("/static/account.css").want(t, http.StatusOK, "dl.account")
}

// change posts the password form with the browser's token.
func change(b *browser, current, next, confirm string) response {
	b.s.t.Helper()
	return b.post("/account/password", b.with(url.Values{"current": {current}, "password": {next}, "confirm": {confirm}}))
}

func TestPasswordRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.login(annEmail, annPass)
	other := s.browser()
	other.login(annEmail, annPass)

	change(b, "not my password", "a new long password", "a new long password").
		want(t, http.StatusForbidden, "current password is not right", "Nothing was changed")
	res := change(b, annPass, "a new long password", "a new long passwort").
		want(t, http.StatusUnprocessableEntity, "two new passwords differ", "Nothing was changed")
	testutil.CheckA11y(t, "/account with an error", res.body)
	change(b, annPass, "short", "short").
		want(t, http.StatusUnprocessableEntity, "cannot be used: at least 10 characters")

	// Nothing changed: the old password logs in, the new one does not,
	// and the other session is still open.
	s.browser().login(annEmail, annPass)
	s.browser().tryLogin(annEmail, "a new long password").want(t, http.StatusUnauthorized)
	other.get("/account").want(t, http.StatusOK, annEmail)
	if es := s.audit("password.change"); len(es) != 0 {
		t.Fatalf("refused change audited as done: %+v", es)
	}
	es := s.audit("password.change.failed")
	if len(es) != 1 || es[0].Actor != annEmail || !strings.Contains(es[0].Detail, "wrong current password") {
		t.Fatalf("failed change audit %+v", es)
	}
}

func TestPasswordLockout(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.login(annEmail, annPass)
	// The login above cleared the account's failures; each wrong guess
	// counts like a failed login, the fifth locks.
	for i := 1; i < 5; i++ {
		change(b, "guess", "a new long password", "a new long password").want(t, http.StatusForbidden)
	}
	change(b, "guess", "a new long password", "a new long password").want(t, http.StatusTooManyRequests, "locked until")
	change(b, annPass, "a new long password", "a new long password").want(t, http.StatusTooManyRequests)
	s.browser().tryLogin(annEmail, annPass).want(t, http.StatusTooManyRequests)
}

func TestPasswordChanged(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.login(annEmail, annPass)
	other := s.browser()
	other.login(annEmail, annPass)
	bob := s.browser()
	bob.login(bobEmail, bobPass)

	const next = "a brand new passphrase"
	res := change(b, annPass, next, next).want(t, http.StatusSeeOther)
	if loc := res.header.Get("Location"); loc != "/account?done=password" {
		t.Fatalf("Location %q", loc)
	}
	// This session stays, with a notice.
	b.get("/account?done=password").want(t, http.StatusOK, "Your password has been changed")
	// The other session of ann ended; bob's did not.
	if loc := other.get("/account").want(t, http.StatusSeeOther).header.Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Fatalf("other session: Location %q", loc)
	}
	bob.get("/account").want(t, http.StatusOK, bobEmail)
	// The new password logs in, the old one fails.
	s.browser().login(annEmail, next)
	s.browser().tryLogin(annEmail, annPass).want(t, http.StatusUnauthorized)

	es := s.audit("password.change")
	if len(es) != 1 || es[0].Actor != annEmail || es[0].Target != annEmail || !strings.Contains(es[0].Detail, "1 other session(s) ended") {
		t.Fatalf("audit %+v", es)
	}
	for _, e := range es {
		if strings.Contains(e.Detail, next) || strings.Contains(e.Detail, annPass) {
			t.Fatalf("password in the audit log: %+v", e)
		}
	}
}

func TestCSRFRequired(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.login(annEmail, annPass)
	b.post("/account/password", url.Values{"current": {annPass}, "password": {"a new long password"}, "confirm": {"a new long password"}}).
		want(t, http.StatusForbidden, "did not come from this site")
	b.post("/account/password", url.Values{"csrf": {"wrong"}, "current": {annPass}, "password": {"a new long password"},
		"confirm": {"a new long password"}}).want(t, http.StatusForbidden)
	b.post("/account/tokens", url.Values{"name": {"sync"}}).want(t, http.StatusForbidden)
	// Another logged-in user's token is not this session's.
	bob := s.browser()
	bob.login(bobEmail, bobPass)
	b.post("/account/tokens", url.Values{"csrf": {bob.csrf("/account")}, "name": {"sync"}}).want(t, http.StatusForbidden)

	s.browser().login(annEmail, annPass) // password unchanged
	if ts := s.tokens(s.ann); len(ts) != 0 {
		t.Fatalf("token made without CSRF token: %+v", ts)
	}
	b.get("/account").want(t, http.StatusOK) // session still there
}
