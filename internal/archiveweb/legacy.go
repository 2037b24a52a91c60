package archiveweb

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// pipermailMonth is a pipermail month directory ("2015-March").
var pipermailMonth = regexp.MustCompile(`^(\d{4})-(January|February|March|April|May|June|July|August|September|October|November|December)$`)

// pipermail redirects a Mailman 2 archive URL to its page here:
//
//	/pipermail/NAME/                      → the list's archive index
//	/pipermail/NAME/YYYY-Month/NNNNNN.html → the message (legacy path map)
//	/pipermail/NAME/YYYY-Month/{thread,date,author,index}.html and the
//	                                       month directory → the month listing
//
// Anything else, and a path the legacy map does not know, is 404.
func (h *Handler) pipermail(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rest := r.PathValue("rest")
	l, err := h.pipermailList(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.accessTo(r.Context(), web.ViewerFrom(r.Context()), l)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !h.allowed(w, r, a) {
		return
	}
	list := l.Address()
	if rest == "" || rest == "index.html" {
		http.Redirect(w, r, archivePath(list, ""), http.StatusMovedPermanently)
		return
	}
	dir, file, _ := strings.Cut(rest, "/")
	m := pipermailMonth.FindStringSubmatch(dir)
	if m == nil {
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such page in the old archive.")
		return
	}
	month, _ := time.Parse("2006-January", dir)
	by := ""
	switch file {
	case "", "index.html", "thread.html":
		by = "thread"
	case "date.html":
		by = "date"
	case "author.html":
		by = "author"
	}
	if by != "" {
		http.Redirect(w, r, monthPath(list, month.Year(), month.Month())+"?by="+by, http.StatusMovedPermanently)
		return
	}
	n, err := h.o.Archive.LegacyRedirect(r.Context(), list, "/pipermail/"+name+"/"+rest)
	var nf *archive.NotFoundError
	if errors.As(err, &nf) {
		h.o.Renderer.Error(w, r, http.StatusNotFound, "That message of the old archive is not in this one.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, messagePath(list, n), http.StatusMovedPermanently)
}

// pipermailList finds the list pipermail called name (its local part).
func (h *Handler) pipermailList(r *http.Request, name string) (*lists.List, error) {
	all, err := h.o.Lists.Lists(r.Context())
	if err != nil {
		return nil, err
	}
	for _, l := range all {
		if l.Name == name {
			return l, nil
		}
	}
	for _, l := range all {
		if strings.EqualFold(l.Name, name) {
			return l, nil
		}
	}
	return nil, &lists.NotFoundError{What: "list", Key: name}
}
