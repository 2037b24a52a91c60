package webui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// The unsubscribe link of every list mail (List-Unsubscribe, made by
// listserv's UnsubscribeURL): /lists/LIST/unsubscribe?address=A&token=T,
// where T signs (LIST, A) with the site secret. Like the confirmation
// link it needs no login and works on hidden lists:
//
//	GET  ─ bad signature ─▶ 404
//	     └ page naming the list and the (masked) address, with a button
//	POST ─ bad signature ─▶ 404
//	     └ (RFC 8058 one-click "List-Unsubscribe=One-Click" or the button)
//	       Lists.Unsubscribe ─▶ done page (also when already gone) ─▶ audit entry
//
// A mail provider's one-click POST carries no CSRF token: the site
// middleware must let this route through (the signature is the
// credential).

type unsubData struct {
	List     *lists.List
	Address  string // masked
	Action   string // the form's URL: this page, with address and token
	CSRF     string
	Done     bool
	Overview string
}

func (u *UI) unsubscribeLink(w http.ResponseWriter, r *http.Request) {
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
	addr, token := r.FormValue("address"), r.FormValue("token")
	if addr == "" || token == "" || len(token) > maxTokenLen || !u.o.Lists.VerifyUnsubscribeToken(l.Address(), addr, token) {
		u.o.Renderer.Error(w, r, http.StatusNotFound,
			"This unsubscribe link is not valid: it may have been copied incompletely. Nothing was changed.")
		return
	}
	q := url.Values{"address": {addr}, "token": {token}}
	d := unsubData{List: l, Address: maskAddress(addr), CSRF: web.CSRFToken(ctx),
		Action: listPath(l.Address(), "unsubscribe") + "?" + q.Encode()}
	if u.visible(ctx, web.ViewerFrom(ctx), l) {
		d.Overview = listPath(l.Address(), "")
	}
	if r.Method != http.MethodPost {
		u.render(w, r, http.StatusOK, "Leave "+l.Address(), confirmNav(l, d.Overview), "unsubscribe", d)
		return
	}
	err = u.o.Lists.Unsubscribe(ctx, l.Address(), addr)
	switch {
	case errors.As(err, &nf):
		// Already gone: the same answer, so that a repeated click is harmless.
	case err != nil:
		u.fail(w, r, err)
		return
	default:
		detail := "unsubscribe link"
		if r.PostFormValue("List-Unsubscribe") == "One-Click" {
			detail = "one-click (RFC 8058)"
		}
		actor := ""
		if v := web.ViewerFrom(ctx); v != nil {
			actor = v.Email
		}
		u.audit(ctx, AuditEntry{Actor: actor, Action: "unsubscribe.link", List: l.Address(), Target: addr, Detail: detail})
	}
	d.Done = true
	u.render(w, r, http.StatusOK, "You left the list", confirmNav(l, d.Overview), "unsubscribe", d)
}
