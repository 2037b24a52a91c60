package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// requestsShown bounds the rows of each table of the requests page.
const requestsShown = 500

type requestsData struct {
	A        *access
	Approval []lists.Pending // waiting for a moderator
	Confirm  []lists.Pending // waiting for the address to confirm (or leave)
	More     int             // rows left out past requestsShown
	Notice   string
	Problem  string
}

// requests shows the subscription requests of the list: those waiting for
// a moderator, with approve and reject buttons, and those waiting for
// their address to confirm.
func (u *UI) requests(w http.ResponseWriter, r *http.Request, a *access) {
	all, err := u.o.Lists.PendingSubscriptions(r.Context(), a.List.Address())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := requestsData{A: a}
	for _, p := range all {
		switch {
		case p.State == lists.PendingApproval && len(d.Approval) < requestsShown:
			d.Approval = append(d.Approval, p)
		case p.State != lists.PendingApproval && len(d.Confirm) < requestsShown:
			d.Confirm = append(d.Confirm, p)
		default:
			d.More++
		}
	}
	q := r.URL.Query()
	if n, err := strconv.Atoi(q.Get("done")); err == nil {
		switch q.Get("action") {
		case "approve":
			d.Notice = fmt.Sprintf("Approved: %d request(s); they are members now.", n)
		case "reject":
			d.Notice = fmt.Sprintf("Rejected: %d request(s).", n)
		}
	}
	if n, err := strconv.Atoi(q.Get("failed")); err == nil && n > 0 {
		d.Problem = fmt.Sprintf("%d request(s) were no longer waiting: another moderator may have decided first.", n)
	}
	u.render(w, r, http.StatusOK, "Subscription requests", nav(a, "Requests"), "requests", d)
}

// requestsPost approves or rejects requests waiting for a moderator: one
// (button "one" = "approve:ADDR") or the selected ones ("addr" boxes and
// button "action").
func (u *UI) requestsPost(w http.ResponseWriter, r *http.Request, a *access) {
	action, addrs := r.PostFormValue("action"), r.PostForm["addr"]
	if one := r.PostFormValue("one"); one != "" {
		act, addr, _ := strings.Cut(one, ":")
		action, addrs = act, []string{addr}
	}
	var apply func(list, addr string) error
	switch action {
	case "approve":
		apply = func(list, addr string) error { return u.o.Lists.ApproveSubscription(r.Context(), list, addr) }
	case "reject":
		apply = func(list, addr string) error { return u.o.Lists.RejectSubscription(r.Context(), list, addr) }
	default:
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "Unknown action.")
		return
	}
	if len(addrs) == 0 {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "No request was selected.")
		return
	}
	list := a.List.Address()
	var done []string
	failed := 0
	for _, addr := range addrs {
		err := apply(list, addr)
		var nf *lists.NotFoundError
		var inv *lists.InvalidError
		switch {
		case errors.As(err, &nf) || errors.As(err, &inv):
			failed++
		case err != nil:
			u.auditRequests(r, a, action, done)
			u.fail(w, r, err)
			return
		default:
			done = append(done, addr)
		}
	}
	u.auditRequests(r, a, action, done)
	redirect(w, r, listPath(list, "requests"), url.Values{"done": {strconv.Itoa(len(done))}, "action": {action},
		"failed": {strconv.Itoa(failed)}})
}

func (u *UI) auditRequests(r *http.Request, a *access, action string, done []string) {
	if len(done) == 0 {
		return
	}
	u.audit(r.Context(), AuditEntry{Actor: a.Email(), Action: "subscription." + action, List: a.List.Address(),
		Target: strings.Join(done, ", "), Detail: fmt.Sprintf("%d request(s)", len(done))})
}
