package webui

import (
	"net/http"
	"net/url"
	"strconv"
)

// auditPageSize is the number of audit entries per page.
const auditPageSize = 50

type auditData struct {
	A     *access
	Rows  []AuditRow
	Next  string // older entries, "" on the last page
	First string // the newest entries, "" on the first page
}

// auditLog shows the list's audit entries, newest first, paged by id:
// ?before=ID shows the entries older than ID.
func (u *UI) auditLog(w http.ResponseWriter, r *http.Request, a *access) {
	if u.o.AuditLog == nil {
		u.o.Renderer.Error(w, r, http.StatusNotFound, "The audit log is not available on this server.")
		return
	}
	before, err := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	if err != nil || before < 0 {
		before = 0
	}
	list := a.List.Address()
	rows, err := u.o.AuditLog(r.Context(), list, before, auditPageSize+1)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := auditData{A: a, Rows: rows}
	if len(rows) > auditPageSize {
		d.Rows = rows[:auditPageSize]
		last := d.Rows[auditPageSize-1].ID
		d.Next = listPath(list, "audit") + "?" + url.Values{"before": {strconv.FormatInt(last, 10)}}.Encode()
	}
	if before > 0 {
		d.First = listPath(list, "audit")
	}
	u.render(w, r, http.StatusOK, "Audit log", nav(a, "Audit log"), "audit", d)
}
