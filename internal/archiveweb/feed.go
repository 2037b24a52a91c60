package archiveweb

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/mimetext"
	"github.com/posthorn/posthorn/internal/sanitize"
)

// feedSize is how many messages the Atom feed carries.
const feedSize = 50

// feedSummary bounds the text of an entry's summary (runes).
const feedSummary = 1000

// Atom 1.0 (RFC 4287) documents.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name  string `xml:"name"`
	Email string `xml:"email,omitempty"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	ID      string     `xml:"id"`
	Title   string     `xml:"title"`
	Updated string     `xml:"updated"`
	Link    atomLink   `xml:"link"`
	Author  atomPerson `xml:"author"`
	Summary atomText   `xml:"summary"`
}

// xmlText removes what XML 1.0 cannot carry (control characters other than
// tab and newlines, invalid UTF-8).
func xmlText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r != 0xFFFE && r != 0xFFFF) {
			return r
		}
		return -1
	}, s)
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// feed serves the latest messages of a list as an Atom feed; entry ids are
// the messages' permalink URLs, which never change.
func (h *Handler) feed(w http.ResponseWriter, r *http.Request, a *access) {
	ctx := r.Context()
	list := a.Address()
	es, err := h.o.Archive.Latest(ctx, list, feedSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base := h.siteURL(r)
	f := atomFeed{
		ID:      base + archivePath(list, ""),
		Title:   xmlText("Archive of " + list),
		Updated: atomTime(h.o.Now()),
		Links: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: base + archivePath(list, "feed.atom")},
			{Rel: "alternate", Type: "text/html", Href: base + archivePath(list, "")}},
		Author: atomPerson{Name: xmlText(list)},
	}
	if len(es) > 0 {
		f.Updated = atomTime(es[0].Date)
	}
	for _, e := range es {
		f.Entries = append(f.Entries, h.feedEntry(r, a, base, e))
	}
	out, err := xml.MarshalIndent(f, "", " ")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a.cacheable(w)
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

func (h *Handler) feedEntry(r *http.Request, a *access, base string, e *archive.Entry) atomEntry {
	list := a.Address()
	title := e.Subject
	if title == "" {
		title = "(no subject)"
	}
	ae := atomEntry{
		ID:      base + archivePath(list, "m/"+e.Permalink),
		Title:   xmlText(title),
		Updated: atomTime(e.Date),
		Link:    atomLink{Rel: "alternate", Type: "text/html", Href: base + messagePath(list, e.Number)},
		Author:  atomPerson{Name: xmlText(a.author(e))},
		Summary: atomText{Type: "text"},
	}
	if a.Role {
		ae.Author.Email = xmlText(e.FromAddr)
	}
	raw, err := h.o.Archive.Raw(r.Context(), list, e.Number)
	if err != nil {
		return ae // deleted meanwhile: no summary
	}
	doc, _ := mimetext.Parse(raw)
	text := doc.Text
	if text == "" && doc.HTML != "" {
		text = sanitize.Text(doc.HTML)
	}
	if !a.Role {
		text = hideAddresses(text)
	}
	if utf8.RuneCountInString(text) > feedSummary {
		text = string([]rune(text)[:feedSummary]) + "…"
	}
	ae.Summary.Body = xmlText(text)
	return ae
}
