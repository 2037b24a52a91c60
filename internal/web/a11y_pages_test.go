package web

import (
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
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
		checkA11y(t, name, page)
		if !strings.Contains(page, `<a class="skip" href="#main">`) || !strings.Contains(page, `<main id="main">`) {
			t.Errorf("%s: no skip link to the main content", name)
		}
	}
}

// TestA11yCheckFinds feeds the checker a page with one of each mistake:
// the check must name each of them, and pass the corrected page.
func TestA11yCheckFinds(t *testing.T) {
	t.Parallel()
	good := `<!doctype html><html lang="en"><head><title>T</title></head><body><main>
<h1>Page</h1><h2>Part</h2>
<label for="a">A</label><input id="a" name="a"><input type="hidden" name="h">
<label>B <input name="b"></label>
<select aria-label="C"><option>1</option></select>
<button type="submit">Go</button><input type="submit">
<img src="/x.png" alt=""><a href="/y">Y</a>
<svg role="img" aria-label="chart"></svg></main></body></html>`
	if p := a11yProblems(good); len(p) != 0 {
		t.Fatalf("a correct page has problems: %q", p)
	}
	for _, tc := range []struct{ from, to, want string }{
		{`lang="en"`, ``, "no lang"},
		{`<title>T</title>`, ``, "0 <title>"},
		{`<title>T</title>`, `<title> </title>`, "<title> is empty"},
		{`<h2>Part</h2>`, `<h3>Part</h3>`, "level is skipped"},
		{`<h2>Part</h2>`, `<h1>Part</h1>`, "2 <h1>"},
		{`<main>`, `<div>`, "0 <main>"},
		{`<label for="a">A</label>`, ``, `id="a" name="a"> has no label`},
		{`<label for="a">`, `<label for="z">`, `for="z"> names no element`},
		{`<select aria-label="C">`, `<select>`, "<select> has no label"},
		{`<select aria-label="C">`, `<select aria-labelledby="nope">`, `aria-labelledby="nope" names no element`},
		{`>Go</button>`, `></button>`, "<button type=\"submit\"> has no text"},
		{` alt=""`, ``, "has no alt"},
		{`>Y</a>`, `></a>`, `href="/y"> has no text`},
		{` role="img" aria-label="chart"`, ` role="img"`, "role img has no name"},
		{`<input name="b">`, `<input name="b" id="a">`, `id "a" is used 2 times`},
		{`<a href="/y">`, `<a href="/y" tabindex="2">`, "positive tabindex"},
	} {
		if !strings.Contains(good, tc.from) {
			t.Fatalf("case %q: %q not in the page", tc.want, tc.from)
		}
		bad := strings.Replace(good, tc.from, tc.to, 1)
		p := a11yProblems(bad)
		if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tc.want) }) {
			t.Errorf("replacing %q by %q: problems %q, want one with %q", tc.from, tc.to, p, tc.want)
		}
	}
}

// TestA11yCheckCopiesAgree fails when the copies of a11y_check_test.go in
// the other web packages differ from this one (but for the package line).
func TestA11yCheckCopiesAgree(t *testing.T) {
	t.Parallel()
	body := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(string(b), "\n")
		return rest
	}
	want := body("a11y_check_test.go")
	for _, p := range []string{"../webui/a11y_check_test.go", "../archiveweb/a11y_check_test.go", "../dashboard/a11y_check_test.go"} {
		if body(p) != want {
			t.Errorf("%s differs from internal/web/a11y_check_test.go: copy it again", p)
		}
	}
}
