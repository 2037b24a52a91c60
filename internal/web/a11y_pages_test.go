package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/testutil"
)

// TestA11yAuthPages checks every page of this package, and the layout
// with and without a viewer, with the static accessibility rules.
func TestA11yAuthPages(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	b := s.browser()
	pages := map[string]string{}
	get := func(name, path string, status int) {
		t.Helper()
		pages[name] = b.get(path).want(t, status).body
	}
	get("login", "/login", http.StatusOK)
	get("login after a reset", "/login?reset=done", http.StatusOK)
	pages["login with an error"] = b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "email": {annEmail}, "password": {"wrong"}}).
		want(t, http.StatusUnauthorized, `id="login-error"`).body
	get("reset request", "/reset", http.StatusOK)
	pages["reset sent"] = b.post("/reset", url.Values{"csrf": {b.csrf("/reset")}, "email": {annEmail}}).want(t, http.StatusOK).body
	link := strings.TrimPrefix(s.mailed(annEmail), "https://lists.example.org")
	get("reset form", link, http.StatusOK)
	pages["reset form with an error"] = b.post(link, url.Values{"csrf": {b.csrf(link)}, "password": {"short"}, "confirm": {"short"}}).
		want(t, http.StatusUnprocessableEntity).body
	get("reset link that does not work", "/reset/nonsense", http.StatusNotFound)
	b.login(annEmail, annPass, "").want(t, http.StatusSeeOther)
	get("page of a logged-in viewer", "/home", http.StatusOK)
	pages["error page"] = b.post("/lists/act", url.Values{"x": {"1"}}).want(t, http.StatusForbidden).body

	for name, page := range pages {
		testutil.CheckA11y(t, name, page)
		if !strings.Contains(page, `<a class="skip" href="#main">`) || !strings.Contains(page, `<main id="main">`) {
			t.Errorf("%s: no skip link to the main content", name)
		}
	}
}
