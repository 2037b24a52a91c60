package archiveweb

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/web"
)

// searchPage is how many hits a search page shows.
const searchPage = 20

// maxSearchOffset bounds paging through results.
const maxSearchOffset = 1000

// hitView is one search result.
type hitView struct {
	List    string
	Entry   *archive.Entry
	Author  string
	Snippet template.HTML
}

type searchData struct {
	A       *access   // nil on the site-wide search
	Lists   []*access // site-wide: the lists the viewer may search
	Form    url.Values
	List    string
	Hits    []hitView
	Total   int
	More    bool // Total is capped
	Asked   bool
	Problem string
	Prev    string
	Next    string
}

// snippet escapes a search snippet and turns the store's match markers
// into <mark> elements, balanced whatever the text holds.
func snippet(s string, role bool) template.HTML {
	if !role {
		s = hideAddresses(s)
	}
	var b strings.Builder
	open := false
	for _, part := range strings.SplitAfter(s, "") {
		switch part {
		case archive.SnippetStart:
			if !open {
				b.WriteString("<mark>")
				open = true
			}
		case archive.SnippetEnd:
			if open {
				b.WriteString("</mark>")
				open = false
			}
		default:
			b.WriteString(template.HTMLEscapeString(part))
		}
	}
	if open {
		b.WriteString("</mark>")
	}
	return template.HTML(b.String())
}

// query reads the search form. Dates are YYYY-MM-DD; until includes its day.
func query(form url.Values) (archive.Query, int, string) {
	q := archive.Query{Words: strings.TrimSpace(form.Get("q")), From: strings.TrimSpace(form.Get("from")), Limit: searchPage}
	page, _ := strconv.Atoi(form.Get("page"))
	page = max(page, 1)
	q.Offset = min((page-1)*searchPage, maxSearchOffset)
	if s := strings.TrimSpace(form.Get("since")); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return q, page, "Dates are written YYYY-MM-DD."
		}
		q.Since = t
	}
	if s := strings.TrimSpace(form.Get("until")); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return q, page, "Dates are written YYYY-MM-DD."
		}
		q.Until = t.AddDate(0, 0, 1)
	}
	return q, page, ""
}

// pager sets the previous and next page links of a search.
func (d *searchData) pager(path string, page, shown int) {
	link := func(p int) string {
		f := url.Values{}
		for k, v := range d.Form {
			f[k] = v
		}
		f.Set("page", strconv.Itoa(p))
		return path + "?" + f.Encode()
	}
	if page > 1 {
		d.Prev = link(page - 1)
	}
	if page*searchPage < d.Total && shown == searchPage && page*searchPage <= maxSearchOffset {
		d.Next = link(page + 1)
	}
}

// search is the full-text search of one list's archive.
func (h *Handler) search(w http.ResponseWriter, r *http.Request, a *access) {
	form := r.URL.Query()
	d := searchData{A: a, Form: form, List: a.Address()}
	q, page, problem := query(form)
	d.Problem = problem
	q.List = a.Address()
	if problem == "" && (q.Words != "" || q.From != "") {
		d.Asked = true
		hits, total, err := h.o.Archive.Search(r.Context(), q)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		d.Total, d.More = total, total > archive.MaxCount
		for _, hit := range hits {
			d.Hits = append(d.Hits, hitView{List: a.Address(), Entry: hit.Entry, Author: a.author(hit.Entry), Snippet: snippet(hit.Snippet, a.Role)})
		}
		d.pager(archivePath(a.Address(), "search"), page, len(hits))
	}
	h.render(w, r, a, http.StatusOK, "Search "+a.Address(), listNav(a, "Search"), "search", d)
}

// siteSearch searches every archive the viewer may read, or one of them.
func (h *Handler) siteSearch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	as, every, err := h.readable(ctx, web.ViewerFrom(ctx))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	form := r.URL.Query()
	d := searchData{Lists: as, Form: form, List: form.Get("list")}
	q, page, problem := query(form)
	d.Problem = problem
	byList := map[string]*access{}
	for _, a := range as {
		byList[a.Address()] = a
	}
	if d.List != "" && byList[d.List] == nil {
		d.Problem = "There is no archive of that name you may search."
	}
	if d.Problem == "" && (q.Words != "" || q.From != "") {
		d.Asked = true
		var targets []string
		switch {
		case d.List != "":
			targets = []string{d.List}
		case every:
			targets = []string{""}
		default:
			for _, a := range as {
				targets = append(targets, a.Address())
			}
		}
		want := q.Offset + q.Limit
		var all []*archive.Hit
		for _, list := range targets {
			sq := q
			sq.List = list
			if len(targets) > 1 {
				sq.Offset, sq.Limit = 0, want
			}
			hits, total, err := h.o.Archive.Search(ctx, sq)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			d.Total += total
			all = append(all, hits...)
		}
		if len(targets) > 1 {
			sort.SliceStable(all, func(i, j int) bool { return all[i].Entry.Received.After(all[j].Entry.Received) })
			all = all[min(q.Offset, len(all)):min(want, len(all))]
		}
		d.More = d.Total > archive.MaxCount
		for _, hit := range all {
			a := byList[hit.Entry.List]
			if a == nil {
				continue // an archive without a list: not shown
			}
			d.Hits = append(d.Hits, hitView{List: a.Address(), Entry: hit.Entry, Author: a.author(hit.Entry), Snippet: snippet(hit.Snippet, a.Role)})
		}
		d.pager("/archive/search", page, len(all))
	}
	h.o.Renderer.Render(w, r, http.StatusOK, web.Page{Title: "Search the archives",
		Nav: []web.Link{{Text: "Archives", Href: "/archive/"}, {Text: "Search"}}}, h.tmpl, "search", d)
}
