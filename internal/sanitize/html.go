package sanitize

import (
	"strings"

	"golang.org/x/net/html"
)

// HTML returns a safe, well-formed rendering of the untrusted HTML in. See
// the package comment for the rules.
func HTML(in string) string {
	z := html.NewTokenizer(strings.NewReader(in))
	var b strings.Builder
	var open []string // allowed elements written and not yet closed
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			for i := len(open) - 1; i >= 0; i-- {
				b.WriteString("</" + open[i] + ">")
			}
			return b.String()
		case html.TextToken:
			b.WriteString(escape(string(z.Text())))
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			tag := tok.Data
			switch {
			case dropped(tag):
				if tt == html.StartTagToken {
					skip(z, tag)
				}
			case tag == "img":
				for _, a := range tok.Attr {
					if a.Namespace == "" && a.Key == "alt" {
						b.WriteString(escape(a.Val))
					}
				}
			case !allowed(tag) || len(open) >= maxDepth:
			default:
				writeStart(&b, tok)
				if void(tag) {
					break
				}
				if tt == html.SelfClosingTagToken {
					b.WriteString("</" + tag + ">")
					break
				}
				open = append(open, tag)
			}
		case html.EndTagToken:
			tag := z.Token().Data
			for i := len(open) - 1; i >= 0; i-- {
				if open[i] != tag {
					continue
				}
				for j := len(open) - 1; j >= i; j-- {
					b.WriteString("</" + open[j] + ">")
				}
				open = open[:i]
				break
			}
		}
	}
}

// writeStart writes the start tag of an allowed element with its allowed
// attributes.
func writeStart(b *strings.Builder, tok html.Token) {
	b.WriteString("<" + tok.Data)
	seen := map[string]bool{}
	for _, a := range tok.Attr {
		if a.Namespace != "" || seen[a.Key] {
			continue
		}
		val := strings.ReplaceAll(a.Val, "\x00", "")
		switch {
		case a.Key == "href" && tok.Data == "a":
			val = SafeURL(val)
			if val == "" {
				continue
			}
		case !allowedAttr(tok.Data, a.Key, val):
			continue
		}
		seen[a.Key] = true
		b.WriteString(" " + a.Key + `="` + html.EscapeString(val) + `"`)
	}
	if tok.Data == "a" {
		b.WriteString(` rel="nofollow noopener noreferrer"`)
	}
	b.WriteString(">")
}

// skip consumes tokens up to the end tag closing the element tag, whose
// start tag was just read, counting nested elements of the same name.
func skip(z *html.Tokenizer, tag string) {
	depth := 1
	for depth > 0 {
		switch z.Next() {
		case html.ErrorToken:
			return
		case html.StartTagToken:
			if name, _ := z.TagName(); string(name) == tag {
				depth++
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == tag {
				depth--
			}
		}
	}
}

// escape escapes text for HTML and removes NUL bytes.
func escape(s string) string {
	return html.EscapeString(strings.ReplaceAll(s, "\x00", ""))
}
