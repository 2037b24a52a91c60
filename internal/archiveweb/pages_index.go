package archiveweb

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/web"
)

// monthPage is how many posts a month listing shows per page.
const monthPage = 200

// maxIndent bounds the indentation of replies in listings.
const maxIndent = 12

// obfuscate hides most of an address from anonymous readers: the first
// characters of the local part, then the domain, "ali… at example.org".
func obfuscate(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		if len(addr) > 3 {
			return addr[:3] + "…"
		}
		return addr
	}
	r := []rune(local)
	keep := 3
	if len(r) <= 4 {
		keep = 1
	}
	if len(r) > keep {
		local = string(r[:keep]) + "…"
	}
	return local + " at " + domain
}

// addrRE finds addresses in message text.
var addrRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)

// hideAddresses obfuscates every address in s (text or sanitised HTML:
// the replacement adds no markup characters).
func hideAddresses(s string) string {
	return addrRE.ReplaceAllStringFunc(s, obfuscate)
}

// address is how a is shown to the viewer.
func (a *access) address(addr string) string {
	if a.Role || addr == "" {
		return addr
	}
	return obfuscate(addr)
}

// author is the short author of e for listings: the name, else the
// address as the viewer may see it.
func (a *access) author(e *archive.Entry) string {
	if e.FromName != "" {
		return e.FromName
	}
	if e.FromAddr == "" {
		return "(unknown)"
	}
	return a.address(e.FromAddr)
}

// row is one line of a listing.
type row struct {
	Entry   *archive.Entry // nil for a post referenced but never archived
	Author  string
	Indent  int
	Heading string // by author: the author, on the first row of each
}

func (a *access) row(e *archive.Entry, indent int) row {
	if indent > maxIndent {
		indent = maxIndent
	}
	r := row{Entry: e, Indent: indent}
	if e != nil && !e.Deleted {
		r.Author = a.author(e)
	}
	return r
}

type indexData struct {
	A      *access
	Months []archive.MonthCount
	Total  int
}

// index shows the months of a list's archive with their counts.
func (h *Handler) index(w http.ResponseWriter, r *http.Request, a *access) {
	months, err := h.o.Archive.Months(r.Context(), a.Address())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := indexData{A: a, Months: months}
	for _, m := range months {
		d.Total += m.Count
	}
	h.render(w, r, a, http.StatusOK, "Archive of "+a.Address(), listNav(a, ""), "index", d)
}

// listNav is the breadcrumb trail of a page of a's archive.
func listNav(a *access, title string, mid ...web.Link) []web.Link {
	out := []web.Link{{Text: "Archives", Href: "/archive/"}}
	if title == "" && len(mid) == 0 {
		return append(out, web.Link{Text: a.Address()})
	}
	out = append(out, web.Link{Text: a.Address(), Href: archivePath(a.Address(), "")})
	out = append(out, mid...)
	return append(out, web.Link{Text: title})
}

type monthData struct {
	A          *access
	Year       int
	Month      time.Month
	By         string
	Rows       []row
	Total      int
	Prev, Next string // pager links
	Threads    int
}

// month lists a month's posts by date (indented by thread depth), by
// thread (as trees) or by author.
func (h *Handler) month(w http.ResponseWriter, r *http.Request, a *access) {
	year, err1 := strconv.Atoi(r.PathValue("year"))
	mon, err2 := strconv.Atoi(r.PathValue("month"))
	if err1 != nil || err2 != nil || year < 1 || year > 9999 || mon < 1 || mon > 12 {
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such month in this archive.")
		return
	}
	d := monthData{A: a, Year: year, Month: time.Month(mon), By: r.URL.Query().Get("by")}
	ctx := r.Context()
	switch d.By {
	case "thread":
		from := time.Date(year, d.Month, 1, 0, 0, 0, 0, time.UTC)
		threads, err := h.o.Archive.Threads(ctx, a.Address(), from, from.AddDate(0, 1, 0))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		d.Threads = len(threads)
		for _, t := range threads {
			d.Total += t.Count
			d.Rows = appendTree(d.Rows, a, t.Root, 0)
		}
	case "author", "date", "":
		if d.By == "" {
			d.By = "date"
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		list := h.o.Archive.ByMonth
		if d.By == "author" {
			list = h.o.Archive.ByAuthor
		}
		es, total, err := list(ctx, a.Address(), year, d.Month, archive.Page{Limit: monthPage, Offset: (page - 1) * monthPage})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		d.Total = total
		last := ""
		for _, e := range es {
			indent := e.Depth
			if d.By == "author" {
				indent = 0
			}
			rw := a.row(e, indent)
			if d.By == "author" && rw.Author != last {
				rw.Heading, last = rw.Author, rw.Author
			}
			d.Rows = append(d.Rows, rw)
		}
		base := monthPath(a.Address(), year, d.Month) + "?by=" + d.By + "&page="
		if page > 1 {
			d.Prev = base + strconv.Itoa(page-1)
		}
		if page*monthPage < total {
			d.Next = base + strconv.Itoa(page+1)
		}
	default:
		h.o.Renderer.Error(w, r, http.StatusNotFound, "Listings are by date, thread or author.")
		return
	}
	title := d.Month.String() + " " + strconv.Itoa(year)
	h.render(w, r, a, http.StatusOK, title, listNav(a, title), "month", d)
}

// appendTree adds the posts of a thread tree in tree order.
func appendTree(rows []row, a *access, n *archive.ThreadNode, depth int) []row {
	if n == nil {
		return rows
	}
	if n.Entry != nil {
		rows = append(rows, a.row(n.Entry, depth))
		depth++
	}
	for _, c := range n.Children {
		rows = appendTree(rows, a, c, depth)
	}
	return rows
}

type archivesData struct {
	Lists []*access
	All   bool
}

// archives lists the archives the viewer may read, with the site search.
func (h *Handler) archives(w http.ResponseWriter, r *http.Request) {
	as, _, err := h.readable(r.Context(), web.ViewerFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.o.Renderer.Render(w, r, http.StatusOK, web.Page{Title: "List archives"}, h.tmpl, "archives", archivesData{Lists: as})
}
