package testutil

// The static accessibility checks of docs/accessibility.md, shared by the
// tests of every package that serves pages (web, webui, archiveweb,
// dashboard, accountweb).

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// A11yProblems lists what a parsed page gets wrong of the static rules
// of docs/accessibility.md: html lang, one non-empty title, one h1,
// headings without skipped levels, one main, a name for every form
// control, button, link, image and SVG image, labels and ARIA references
// that point at existing elements, unique ids, no positive tabindex.
func A11yProblems(page string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return []string{"parse: " + err.Error()}
	}
	var els []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			els = append(els, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)

	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	ids := map[string]int{}
	labelFor := map[string]bool{}
	for _, n := range els {
		if id, ok := a11yAttr(n, "id"); ok {
			ids[id]++
		}
		if f, ok := a11yAttr(n, "for"); ok && n.Data == "label" {
			labelFor[f] = true
		}
	}
	for id, k := range ids {
		if k > 1 {
			bad("id %q is used %d times", id, k)
		}
	}
	for f := range labelFor {
		if ids[f] == 0 {
			bad("<label for=%q> names no element", f)
		}
	}
	var titles, h1s, mains int
	lastLevel := 0
	for _, n := range els {
		desc := a11yDescribe(n)
		for _, a := range []string{"aria-labelledby", "aria-describedby"} {
			if v, ok := a11yAttr(n, a); ok {
				for ref := range strings.FieldsSeq(v) {
					if ids[ref] == 0 {
						bad("%s: %s=%q names no element", desc, a, ref)
					}
				}
			}
		}
		if n.Namespace != "" { // inside <svg> or <math>
			if role, _ := a11yAttr(n, "role"); n.Data == "svg" && role == "img" && !a11yNamed(n) && !a11yHasChild(n, "title") {
				bad("%s with role img has no name", desc)
			}
			continue
		}
		if v, ok := a11yAttr(n, "tabindex"); ok && strings.TrimSpace(v) != "0" && !strings.HasPrefix(strings.TrimSpace(v), "-") {
			bad("%s: positive tabindex %q changes the focus order", desc, v)
		}
		switch n.Data {
		case "html":
			if v, _ := a11yAttr(n, "lang"); strings.TrimSpace(v) == "" {
				bad("<html> has no lang")
			}
		case "title":
			titles++
			if strings.TrimSpace(a11yText(n)) == "" {
				bad("<title> is empty")
			}
		case "main":
			mains++
		case "h1", "h2", "h3", "h4", "h5", "h6":
			level := int(n.Data[1] - '0')
			if level == 1 {
				h1s++
			}
			if strings.TrimSpace(a11yText(n)) == "" {
				bad("%s is empty", desc)
			}
			if level > lastLevel+1 {
				bad("%s %q follows h%d: a heading level is skipped", desc, strings.TrimSpace(a11yText(n)), lastLevel)
			}
			lastLevel = level
		case "img":
			if _, ok := a11yAttr(n, "alt"); !ok {
				bad("%s has no alt", desc)
			}
		case "a":
			if _, ok := a11yAttr(n, "href"); ok && !a11yNamed(n) && strings.TrimSpace(a11yText(n)) == "" {
				bad("%s has no text", desc)
			}
		case "button":
			if !a11yNamed(n) && strings.TrimSpace(a11yText(n)) == "" {
				bad("%s has no text", desc)
			}
		case "input", "select", "textarea":
			typ, _ := a11yAttr(n, "type")
			typ = strings.ToLower(typ)
			if _, hidden := a11yAttr(n, "hidden"); hidden || typ == "hidden" {
				continue
			}
			switch typ {
			case "submit", "reset":
				continue // the browser names them
			case "button", "image":
				v, _ := a11yAttr(n, "value")
				alt, _ := a11yAttr(n, "alt")
				if !a11yNamed(n) && strings.TrimSpace(v+alt) == "" {
					bad("%s has no text", desc)
				}
				continue
			}
			id, _ := a11yAttr(n, "id")
			if !(id != "" && labelFor[id]) && !a11yNamed(n) && !a11yInsideLabel(n) {
				bad("%s has no label", desc)
			}
		}
	}
	if titles != 1 {
		bad("%d <title> elements, want 1", titles)
	}
	if h1s != 1 {
		bad("%d <h1> elements, want 1", h1s)
	}
	if mains != 1 {
		bad("%d <main> elements, want 1", mains)
	}
	return probs
}

// CheckA11y fails t with every problem of page, named by what.
func CheckA11y(t testing.TB, what, page string) {
	t.Helper()
	for _, p := range A11yProblems(page) {
		t.Errorf("%s: %s", what, p)
	}
}

func a11yAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
}

// a11yNamed: the element has a non-empty aria-label or aria-labelledby.
func a11yNamed(n *html.Node) bool {
	l, _ := a11yAttr(n, "aria-label")
	lb, _ := a11yAttr(n, "aria-labelledby")
	return strings.TrimSpace(l+lb) != ""
}

func a11yHasChild(n *html.Node, tag string) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == tag && strings.TrimSpace(a11yText(c)) != "" {
			return true
		}
	}
	return false
}

func a11yInsideLabel(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == "label" {
			return true
		}
	}
	return false
}

// a11yText is the text content of n, with images' alt text.
func a11yText(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && n.Data == "img":
			alt, _ := a11yAttr(n, "alt")
			b.WriteString(alt)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// a11yDescribe is a short form of n's start tag for messages.
func a11yDescribe(n *html.Node) string {
	var b strings.Builder
	b.WriteString("<" + n.Data)
	for _, k := range []string{"id", "name", "type", "class", "href"} {
		if v, ok := a11yAttr(n, k); ok {
			fmt.Fprintf(&b, " %s=%q", k, v)
		}
	}
	b.WriteString(">")
	return b.String()
}
