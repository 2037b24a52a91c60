package webui

import (
	"net/http"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// decisionsLimit is the number of recent decisions shown.
const decisionsLimit = 200

type decisionRow struct {
	lists.Decision
	Hits string
}

type decisionsData struct {
	A    *access
	Rows []decisionRow
}

// decisions shows what the rule chain did with the recent posts.
func (u *UI) decisions(w http.ResponseWriter, r *http.Request, a *access) {
	ds, err := u.o.Lists.RecentDecisions(r.Context(), a.List.Address(), decisionsLimit)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := decisionsData{A: a}
	for _, dec := range ds {
		d.Rows = append(d.Rows, decisionRow{Decision: dec, Hits: strings.Join(dec.Hits(), ", ")})
	}
	u.render(w, r, http.StatusOK, "Recent decisions", nav(a, "Decisions"), "decisions", d)
}

type traceData struct {
	A       *access
	Query   string
	Rows    []TraceRow
	Asked   bool
	Problem string
}

// trace searches the mail log of the list's messages.
func (u *UI) trace(w http.ResponseWriter, r *http.Request, a *access) {
	if u.o.Trace == nil {
		u.o.Renderer.Error(w, r, http.StatusNotFound, "Message trace is not available on this server.")
		return
	}
	d := traceData{A: a, Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if d.Query != "" {
		d.Asked = true
		rows, err := u.o.Trace(r.Context(), a.List.Address(), d.Query)
		if err != nil {
			u.log.Warn("webui: trace failed", errAttr(err))
			d.Problem = "The search failed: try a queue id, a Message-ID or an address."
		}
		d.Rows = rows
	}
	u.render(w, r, http.StatusOK, "Message trace", nav(a, "Trace"), "trace", d)
}
