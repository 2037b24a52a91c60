// Package sanitize turns untrusted HTML from mail into a safe subset for
// the archive pages, and into plain text for the search index.
//
// HTML runs the golang.org/x/net/html tokenizer over the input once and
// writes a new document from scratch; nothing of the input is copied
// through unescaped. For every token:
//
//   - text is written escaped, with NUL bytes removed;
//   - a start tag of an allowed element (see allowed) is written with only
//     its allowed attributes, values escaped and quoted, and pushed on a
//     stack of open elements; void elements (br, hr) are not pushed;
//   - the start tag of an element whose content is never shown (script,
//     style, iframe, object, embed, form, svg, math, template, head, …)
//     switches to skipping until its matching end tag (or the end of
//     input); nothing inside is written;
//   - img is replaced by its alt text: no remote load of any kind survives;
//   - any other tag is dropped and its content kept;
//   - an end tag closes the matching open element and every element opened
//     after it; an end tag with no open match is dropped;
//   - comments, doctypes, processing instructions and CDATA are dropped.
//
// At the end every element still open is closed, so the output is always
// well formed. Links keep href only when, after entity decoding and removal
// of whitespace and control characters, it is an absolute http, https or
// mailto URL; they get rel="nofollow noopener noreferrer".
package sanitize

import (
	"net/url"
	"strings"
)

// maxDepth bounds the nesting of open elements in the output; deeper start
// tags are dropped (their text is kept).
const maxDepth = 100

// allowed reports whether an element may appear in the output.
func allowed(tag string) bool {
	switch tag {
	case "p", "br", "div", "span", "b", "i", "em", "strong", "u", "s", "sub", "sup", "small",
		"a", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "code",
		"table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th",
		"h1", "h2", "h3", "h4", "h5", "h6", "hr":
		return true
	}
	return false
}

// void reports whether an allowed element has no content and no end tag.
func void(tag string) bool {
	return tag == "br" || tag == "hr"
}

// dropped reports whether an element is removed together with its
// content.
func dropped(tag string) bool {
	switch tag {
	case "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
		"form", "svg", "math", "template", "head", "title", "noscript", "noembed",
		"noframes", "xmp", "textarea", "select", "option", "audio", "video", "canvas",
		"plaintext", "button", "map", "picture", "source", "portal", "dialog":
		return true
	}
	return false
}

// allowedAttr reports whether attribute key may appear on element tag
// (href is handled separately).
func allowedAttr(tag, key, val string) bool {
	switch key {
	case "colspan", "rowspan":
		return (tag == "td" || tag == "th") && digits(val, 3)
	case "start":
		return tag == "ol" && digits(val, 6)
	case "title":
		return true
	}
	return false
}

// digits reports whether s is 1 to n ASCII digits.
func digits(s string, n int) bool {
	if s == "" || len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// SafeURL returns the link target to keep for an href attribute value
// (already entity-decoded), or "" when the link must go. Whitespace and
// control characters are removed everywhere, as browsers ignore them
// inside a scheme; the result must be an absolute http or https URL with a
// host, or a mailto URL.
func SafeURL(href string) string {
	clean := strings.Map(func(r rune) rune {
		if r <= 0x20 || r == 0x7f || r == '\u00a0' || r == '\ufeff' || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, href)
	u, err := url.Parse(clean)
	if err != nil || u.Opaque != "" && u.Scheme != "mailto" {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return ""
		}
	case "mailto":
	default:
		return ""
	}
	return clean
}
