package sanitize

import (
	"strings"

	"golang.org/x/net/html"
)

// Text returns the readable text of the HTML in, for the search index and
// for plain-text views: the content of dropped elements (scripts, styles,
// …) is left out, images count as their alt text, block elements and br
// end lines, table cells are separated by tabs. Runs of spaces collapse to
// one (except inside pre) and at most one empty line separates blocks.
func Text(in string) string {
	z := html.NewTokenizer(strings.NewReader(in))
	var t textBuilder
	pre := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return t.String()
		case html.TextToken:
			t.text(strings.ReplaceAll(string(z.Text()), "\x00", ""), pre > 0)
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tag := tok.Data; {
			case dropped(tag):
				if tt == html.StartTagToken {
					skip(z, tag)
				}
			case tag == "img":
				for _, a := range tok.Attr {
					if a.Key == "alt" && a.Namespace == "" {
						t.text(" "+a.Val+" ", false)
					}
				}
			case tag == "br":
				t.newline()
			case tag == "td" || tag == "th":
				if t.newlines == 0 && t.b.Len() > 0 {
					t.text("\t", true)
				}
			case tag == "tr" || tag == "li" || tag == "dt" || tag == "dd":
				t.lineBreak()
			case tag == "pre":
				t.paragraph()
				if tt == html.StartTagToken {
					pre++
				}
			case block(tag):
				t.paragraph()
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch tag := string(name); {
			case tag == "pre":
				pre = max(0, pre-1)
				t.paragraph()
			case tag == "tr" || tag == "li" || tag == "dt" || tag == "dd":
				t.lineBreak()
			case block(tag):
				t.paragraph()
			}
		}
	}
}

// block reports whether an element starts a new paragraph of text.
func block(tag string) bool {
	switch tag {
	case "p", "div", "blockquote", "ul", "ol", "dl", "table", "hr", "h1", "h2", "h3", "h4",
		"h5", "h6", "address", "article", "aside", "footer", "header", "section", "nav",
		"main", "figure", "center", "body", "html", "caption":
		return true
	}
	return false
}

// textBuilder collects text, collapsing white space.
type textBuilder struct {
	b        strings.Builder
	newlines int  // newlines at the end of b (2 = an empty line)
	space    bool // a space is pending before the next text
}

func (t *textBuilder) text(s string, verbatim bool) {
	if verbatim {
		if s == "" {
			return
		}
		t.flushSpace()
		t.b.WriteString(s)
		t.newlines = 0
		if strings.HasSuffix(s, "\n") {
			t.newlines = 1
		}
		return
	}
	for i, w := range strings.Fields(s) {
		if i > 0 || startsWithSpace(s) {
			t.space = true
		}
		t.flushSpace()
		t.b.WriteString(w)
		t.newlines = 0
	}
	if len(s) > 0 && endsWithSpace(s) {
		t.space = true
	}
}

func (t *textBuilder) flushSpace() {
	if t.space && t.b.Len() > 0 && t.newlines == 0 {
		t.b.WriteByte(' ')
	}
	t.space = false
}

func (t *textBuilder) newline() {
	t.space = false
	if t.b.Len() > 0 && t.newlines < 2 {
		t.b.WriteByte('\n')
		t.newlines++
	}
}

// lineBreak ends the current line unless it is empty.
func (t *textBuilder) lineBreak() {
	if t.newlines == 0 {
		t.newline()
	}
	t.space = false
}

func (t *textBuilder) paragraph() {
	t.space = false
	for t.b.Len() > 0 && t.newlines < 2 {
		t.b.WriteByte('\n')
		t.newlines++
	}
}

// String returns the text without trailing white space.
func (t *textBuilder) String() string {
	return strings.TrimRight(t.b.String(), " \t\n")
}

func startsWithSpace(s string) bool {
	return s != "" && strings.TrimLeft(s[:1], " \t\r\n\f") == ""
}

func endsWithSpace(s string) bool {
	return s != "" && strings.TrimRight(s[len(s)-1:], " \t\r\n\f") == ""
}
