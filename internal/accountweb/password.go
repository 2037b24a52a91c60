package accountweb

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/web"
)

// password changes the viewer's own password (see the package comment).
func (h *Handler) password(w http.ResponseWriter, r *http.Request, v *web.Viewer) {
	current, next, confirm := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("confirm")
	if next != confirm {
		h.show(w, r, v, http.StatusUnprocessableEntity, pageData{
			Problem: "The two new passwords differ. Type the same new password twice. Nothing was changed."})
		return
	}
	// The session this request came with is kept; the browser's cookie is
	// the only place its token is.
	keep := ""
	if c, err := r.Cookie(web.SessionCookie); err == nil {
		keep = c.Value
	}
	ip := h.clientIP(r)
	ended, err := h.o.Accounts.ChangePassword(r.Context(), v.UserID, current, next, keep)
	var inv *accounts.InvalidError
	var ce *accounts.CredentialsError
	var le *accounts.LockedError
	switch {
	case errors.As(err, &inv):
		h.show(w, r, v, http.StatusUnprocessableEntity, pageData{
			Problem: "That new password cannot be used: " + inv.Problem + ". Nothing was changed."})
		return
	case errors.As(err, &ce):
		h.audit(r.Context(), accounts.Entry{Actor: v.Email, Action: "password.change.failed", Target: v.Email,
			Detail: "wrong current password, client " + ip})
		h.show(w, r, v, http.StatusForbidden, pageData{
			Problem: "Your current password is not right. Nothing was changed."})
		return
	case errors.As(err, &le):
		h.audit(r.Context(), accounts.Entry{Actor: v.Email, Action: "password.change.failed", Target: v.Email,
			Detail: "locked until " + le.Until.UTC().Format(time.RFC3339) + ", client " + ip})
		h.show(w, r, v, http.StatusTooManyRequests, pageData{
			Problem: "Too many wrong passwords: your account is locked until " + le.Until.In(h.o.Location).Format("15:04 MST") +
				". Nothing was changed. If you have forgotten your password, log out and reset it."})
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.audit(r.Context(), accounts.Entry{Actor: v.Email, Action: "password.change", Target: v.Email,
		Detail: fmt.Sprintf("password changed, %d other session(s) ended, client %s", ended, ip)})
	http.Redirect(w, r, "/account?done=password", http.StatusSeeOther)
}
