package webui

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// heldPageSize is the number of held posts per page.
const heldPageSize = 100

type heldData struct {
	A       *access
	Posts   []*lists.HeldPost
	Next    string
	Notice  string
	Problem string
	Actions []string
}

func modActions() []string {
	return []string{string(lists.ModApprove), string(lists.ModReject), string(lists.ModDiscard),
		string(lists.ModAcceptAlways), string(lists.ModDefer)}
}

// held lists the posts waiting for a moderator, oldest first.
func (u *UI) held(w http.ResponseWriter, r *http.Request, a *access) {
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	posts, err := u.o.Lists.Held(r.Context(), a.List.Address(), heldPageSize+1, after)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := heldData{A: a, Posts: posts, Actions: modActions()}
	if len(posts) > heldPageSize {
		d.Posts = posts[:heldPageSize]
		d.Next = listPath(a.List.Address(), "held") + "?after=" + strconv.FormatInt(d.Posts[heldPageSize-1].ID, 10)
	}
	if n, err := strconv.Atoi(q.Get("done")); err == nil {
		if act, err := lists.ParseModAction(q.Get("action")); err == nil {
			d.Notice = fmt.Sprintf("%s: %d post(s).", pastMod(act), n)
		} else {
			d.Notice = fmt.Sprintf("Done: %d post(s).", n)
		}
	}
	if f, err := strconv.Atoi(q.Get("failed")); err == nil && f > 0 {
		d.Problem = fmt.Sprintf("%d post(s) could not be moderated: another moderator may have decided first, or delivery failed (they stay held).", f)
	}
	u.render(w, r, http.StatusOK, "Held messages", nav(a, "Held messages"), "held", d)
}

func pastMod(a lists.ModAction) string {
	switch a {
	case lists.ModApprove:
		return "Approved"
	case lists.ModReject:
		return "Rejected"
	case lists.ModDiscard:
		return "Discarded"
	case lists.ModAcceptAlways:
		return "Approved, and the senders' posts are accepted from now on"
	}
	return "Left held"
}

// heldPost applies a decision: a per-message button (one=ACTION:ID) or
// the bulk form (ids + action), with the reason field.
func (u *UI) heldPost(w http.ResponseWriter, r *http.Request, a *access) {
	if err := r.ParseForm(); err != nil {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	actName, idList := r.PostForm.Get("action"), r.PostForm["ids"]
	if one := r.PostForm.Get("one"); one != "" {
		var id string
		actName, id, _ = strings.Cut(one, ":")
		idList = []string{id}
	}
	act, err := lists.ParseModAction(actName)
	if err != nil {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "Choose an action: approve, reject, discard, accept-always or defer.")
		return
	}
	var ids []int64
	for _, s := range idList {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || id <= 0 {
			u.o.Renderer.Error(w, r, http.StatusBadRequest, "A selected message number is not valid.")
			return
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "Select at least one message.")
		return
	}
	if len(ids) > 1000 {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "Moderate at most 1,000 messages at once.")
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	res, err := u.o.Moderate(r.Context(), a.List.Address(), ids, act, reason, a.Email())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	done, failed := 0, 0
	var ok []string
	for _, hr := range res {
		if hr.Err != nil {
			failed++
			u.log.Warn("webui: moderation failed", slog.String("list", a.List.Address()), slog.Int64("held_id", hr.ID), errAttr(hr.Err))
			continue
		}
		done++
		ok = append(ok, strconv.FormatInt(hr.ID, 10))
	}
	u.audit(r.Context(), AuditEntry{Actor: a.Email(), Action: "held." + string(act), List: a.List.Address(),
		Target: "held " + targets(ok, func(s string) string { return "#" + s }),
		Detail: fmt.Sprintf("%s (%d done, %d failed)", reason, done, failed)})
	redirect(w, r, listPath(a.List.Address(), "held"), url.Values{"done": {strconv.Itoa(done)},
		"failed": {strconv.Itoa(failed)}, "action": {string(act)}})
}
