package sanitize

import (
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// checkSafe parses out as a browser would and returns an error for any
// element or attribute outside the allow-list, any href that is not an
// absolute http, https or mailto URL, and any link without the rel
// attribute. It is written independently of the sanitizer's own tables.
func checkSafe(out string) error {
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		return fmt.Errorf("parse: %v", err)
	}
	okElem := map[string]bool{}
	for _, e := range strings.Fields("html head body p br div span b i em strong u s sub sup small a ul ol li dl dt dd blockquote pre code table caption thead tbody tfoot tr td th h1 h2 h3 h4 h5 h6 hr") {
		okElem[e] = true
	}
	var walk func(n *html.Node, depth int) error
	walk = func(n *html.Node, depth int) error {
		if depth > 2000 {
			return fmt.Errorf("nesting too deep")
		}
		switch n.Type {
		case html.ElementNode:
			if n.Namespace != "" || !okElem[n.Data] {
				return fmt.Errorf("element <%s> (namespace %q) not allowed", n.Data, n.Namespace)
			}
			hasRel := false
			for _, a := range n.Attr {
				switch {
				case a.Namespace != "":
					return fmt.Errorf("namespaced attribute %s:%s", a.Namespace, a.Key)
				case a.Key == "href" && n.Data == "a":
					u, err := url.Parse(a.Val)
					if err != nil {
						return fmt.Errorf("href %q: %v", a.Val, err)
					}
					if s := u.Scheme; s != "http" && s != "https" && s != "mailto" && s != "HTTP" && s != "HTTPS" && !strings.EqualFold(s, "http") && !strings.EqualFold(s, "https") && !strings.EqualFold(s, "mailto") {
						return fmt.Errorf("href %q has scheme %q", a.Val, s)
					}
					if strings.ContainsAny(a.Val, " \t\r\n\x00") {
						return fmt.Errorf("href %q contains white space or NUL", a.Val)
					}
				case a.Key == "rel" && n.Data == "a":
					if a.Val != "nofollow noopener noreferrer" {
						return fmt.Errorf("rel %q", a.Val)
					}
					hasRel = true
				case a.Key == "title":
				case (a.Key == "colspan" || a.Key == "rowspan") && (n.Data == "td" || n.Data == "th"):
				case a.Key == "start" && n.Data == "ol":
				default:
					return fmt.Errorf("attribute %s on <%s> not allowed", a.Key, n.Data)
				}
			}
			if n.Data == "a" && !hasRel {
				return fmt.Errorf("link without rel")
			}
		case html.CommentNode:
			return fmt.Errorf("comment %q in output", n.Data)
		case html.DoctypeNode:
			return fmt.Errorf("doctype in output")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(doc, 0)
}

// checkBalanced reports an error unless every start tag in out (other than
// br and hr) is closed by a matching end tag in order.
func checkBalanced(out string) error {
	z := html.NewTokenizer(strings.NewReader(out))
	var open []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if len(open) > 0 {
				return fmt.Errorf("unclosed %v", open)
			}
			return nil
		case html.StartTagToken:
			name, _ := z.TagName()
			if n := string(name); n != "br" && n != "hr" {
				open = append(open, n)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(open) == 0 || open[len(open)-1] != string(name) {
				return fmt.Errorf("end tag </%s> does not match %v", name, open)
			}
			open = open[:len(open)-1]
		case html.SelfClosingTagToken:
			return fmt.Errorf("self-closing tag in output")
		case html.CommentToken, html.DoctypeToken:
			return fmt.Errorf("comment or doctype in output")
		}
	}
}
