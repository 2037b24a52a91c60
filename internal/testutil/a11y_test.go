package testutil

import (
	"slices"
	"strings"
	"testing"
)

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
	if p := A11yProblems(good); len(p) != 0 {
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
		p := A11yProblems(bad)
		if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tc.want) }) {
			t.Errorf("replacing %q by %q: problems %q, want one with %q", tc.from, tc.to, p, tc.want)
		}
	}
}
