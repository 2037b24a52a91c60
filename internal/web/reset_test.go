package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func (s *site) mailed(email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mails[email]
}

func TestResetFlow(t *testing.T) {
	t.Parallel()
	s := newSite(t, false)
	old := s.browser()
	old.login(annEmail, annPass, "").want(t, http.StatusSeeOther)

	b := s.browser()
	tok := b.csrf("/reset")
	const said = "a link to choose a new password is on its way"
	unknown := b.post("/reset", url.Values{"csrf": {tok}, "email": {"nobody@example.org"}}).want(t, http.StatusOK, said)
	known := b.post("/reset", url.Values{"csrf": {tok}, "email": {"Ann@Example.org"}}).want(t, http.StatusOK, said)
	if strings.ReplaceAll(unknown.body, "nobody@example.org", "X") != strings.ReplaceAll(known.body, "Ann@Example.org", "X") {
		t.Errorf("the pages for a known and an unknown address differ:\n%s\n---\n%s", unknown.body, known.body)
	}
	if s.mailed("nobody@example.org") != "" {
		t.Error("mail sent to an unknown address")
	}
	link := s.mailed(annEmail)
	if !strings.HasPrefix(link, "https://lists.example.org/reset/") {
		t.Fatalf("link %q", link)
	}
	path := strings.TrimPrefix(link, "https://lists.example.org")
	form := b.get(path).want(t, http.StatusOK, "Choose a new password for <strong>ann@example.org</strong>", `autocomplete="new-password"`)
	if form.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy %q", form.Header.Get("Referrer-Policy"))
	}
	ftok := b.csrf(path)
	b.post(path, url.Values{"csrf": {ftok}, "password": {"new horse staple"}, "confirm": {"new horse stapler"}}).
		want(t, http.StatusUnprocessableEntity, "differ")
	b.post(path, url.Values{"csrf": {ftok}, "password": {"short"}, "confirm": {"short"}}).
		want(t, http.StatusUnprocessableEntity, "at least 10 characters")
	b.post(path, url.Values{"password": {"new horse staple"}, "confirm": {"new horse staple"}}).want(t, http.StatusForbidden)
	r := b.post(path, url.Values{"csrf": {ftok}, "password": {"new horse staple"}, "confirm": {"new horse staple"}}).want(t, http.StatusSeeOther)
	if r.Header.Get("Location") != "/login?reset=done" {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
	b.get("/login?reset=done").want(t, http.StatusOK, "Your password has been changed")
	// Single use; the old session is over; the new password works, the old one not.
	b.get(path).want(t, http.StatusNotFound, "does not work")
	b.post(path, url.Values{"csrf": {ftok}, "password": {"other horse staple"}, "confirm": {"other horse staple"}}).want(t, http.StatusNotFound)
	old.get("/lists").want(t, http.StatusOK, "anonymous")
	b.login(annEmail, annPass, "").want(t, http.StatusUnauthorized)
	b.login(annEmail, "new horse staple", "").want(t, http.StatusSeeOther)
	b.get("/reset/nonsense").want(t, http.StatusNotFound)

	for action, n := range map[string]int{"reset.request": 2, "reset.done": 1} {
		if es := s.audit(action); len(es) != n {
			t.Errorf("%s: %d audit entries, want %d: %+v", action, len(es), n, es)
		}
	}
}
