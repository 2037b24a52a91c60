package webui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// Confirmation by link. The confirmation mail names
// /lists/LIST/confirm/TOKEN; the token is the credential, so the page needs
// no login and is served even for a list hidden from strangers:
//
//	GET  ─ LookupToken ─ unknown, used, other list ─▶ 404
//	                   ─ expired ───────────────────▶ 410
//	                   ─ valid ─▶ what will be confirmed + button
//	POST ─ LookupToken (same checks) ─ Confirm ─▶ result page ─▶ audit entry
//
// GET changes nothing, so a link checker or a mail scanner that opens the
// link confirms nothing.

// maxTokenLen bounds what is looked up: real tokens are 32 characters.
const maxTokenLen = 128

type confirmData struct {
	List    *lists.List
	Unsub   bool   // an unsubscription (else a subscription)
	Address string // masked
	Expires time.Time
	CSRF    string
	Action  string // the form's URL: this page
	// After the POST:
	Done  bool
	State lists.SubState
	// Overview links back to the list page ("" when it is hidden from the
	// viewer).
	Overview string
}

// confirmToken shows (GET) or completes (POST) a confirmation token.
func (u *UI) confirmToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	l, err := u.o.Lists.GetList(ctx, r.PathValue("list"))
	var nf *lists.NotFoundError
	var inv *lists.InvalidError
	if errors.As(err, &nf) || errors.As(err, &inv) {
		u.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such list.")
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	token := strings.TrimSpace(r.PathValue("token"))
	res, err := u.lookupToken(ctx, token)
	if err == nil && !strings.EqualFold(res.List, l.Address()) {
		err = &lists.TokenError{} // a token of another list: do not tell
	}
	if err != nil {
		u.tokenFail(w, r, l, err)
		return
	}
	v := web.ViewerFrom(ctx)
	d := confirmData{List: l, Unsub: res.State == lists.PendingUnsubscribe, Address: maskAddress(res.Address),
		Expires: res.Expires, CSRF: web.CSRFToken(ctx), Action: listPath(l.Address(), "confirm/"+url.PathEscape(token))}
	if u.visible(ctx, v, l) {
		d.Overview = listPath(l.Address(), "")
	}
	title := "Confirm your subscription"
	if d.Unsub {
		title = "Confirm that you leave the list"
	}
	if r.Method != http.MethodPost {
		u.render(w, r, http.StatusOK, title, confirmNav(l, d.Overview), "confirm", d)
		return
	}
	done, err := u.confirm(ctx, token)
	if err != nil {
		u.tokenFail(w, r, l, err)
		return
	}
	actor := ""
	if v != nil {
		actor = v.Email
	}
	action := "subscribe.confirm"
	if d.Unsub {
		action = "unsubscribe.confirm"
	}
	u.audit(ctx, AuditEntry{Actor: actor, Action: action, List: l.Address(), Target: done.Address,
		Detail: string(done.State) + " (confirmation link)"})
	d.Done, d.State = true, done.State
	switch done.State {
	case lists.Subscribed:
		title = "You are subscribed"
	case lists.PendingApproval:
		title = "Your request waits for approval"
	case lists.Unsubscribed:
		title = "You left the list"
	default:
		title = "Confirmed"
	}
	u.render(w, r, http.StatusOK, title, confirmNav(l, d.Overview), "confirm", d)
}

func (u *UI) lookupToken(ctx context.Context, token string) (lists.SubscribeResult, error) {
	if token == "" || len(token) > maxTokenLen {
		return lists.SubscribeResult{}, &lists.TokenError{}
	}
	if u.o.LookupToken != nil {
		return u.o.LookupToken(ctx, token)
	}
	return u.o.Lists.LookupToken(ctx, token)
}

func (u *UI) confirm(ctx context.Context, token string) (lists.SubscribeResult, error) {
	if u.o.Confirm != nil {
		return u.o.Confirm(ctx, token)
	}
	return u.o.Lists.Confirm(ctx, token)
}

// tokenFail answers a token that cannot be used: 410 for an expired one,
// 404 for one that is unknown or already used.
func (u *UI) tokenFail(w http.ResponseWriter, r *http.Request, l *lists.List, err error) {
	var te *lists.TokenError
	if !errors.As(err, &te) {
		u.fail(w, r, err)
		return
	}
	d := struct {
		Expired  bool
		Overview string
	}{Expired: te.Expired}
	if u.visible(r.Context(), web.ViewerFrom(r.Context()), l) {
		d.Overview = listPath(l.Address(), "")
	}
	status, title := http.StatusNotFound, "Unknown confirmation link"
	if te.Expired {
		status, title = http.StatusGone, "This confirmation link has expired"
	}
	u.render(w, r, status, title, confirmNav(l, d.Overview), "confirmbad", d)
}

// visible reports whether the viewer may see l's overview page.
func (u *UI) visible(ctx context.Context, v *web.Viewer, l *lists.List) bool {
	if !u.private(l) {
		return true
	}
	a, err := u.accessTo(ctx, v, l)
	return err == nil && a.any()
}

func confirmNav(l *lists.List, overview string) []web.Link {
	out := []web.Link{{Text: "Lists", Href: "/lists"}}
	if overview != "" {
		out = append(out, web.Link{Text: l.Address(), Href: overview})
	}
	return append(out, web.Link{Text: "Confirmation"})
}

// maskAddress shows enough of addr for its owner to recognise it:
// a***@example.org.
func maskAddress(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if local == "" {
		return addr
	}
	first := []rune(local)[0]
	out := string(first) + "***"
	if ok {
		out += "@" + domain
	}
	return out
}
