package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/posthorn/posthorn/internal/accounts"
)

type resetData struct {
	CSRF   string
	Email  string
	Error  string
	Action string // the form's action, /reset/TOKEN
}

func (a *Auth) renderReset(w http.ResponseWriter, r *http.Request, status int, name string, d resetData) {
	d.CSRF = CSRFToken(r.Context())
	// The token is in the URL: make sure it is never sent on as a referrer.
	w.Header().Set("Referrer-Policy", "no-referrer")
	a.Renderer.Render(w, r, status, Page{Title: "Reset your password"}, a.pages, name, d)
}

func (a *Auth) resetRequestForm(w http.ResponseWriter, r *http.Request) {
	a.renderReset(w, r, http.StatusOK, "reset-request", resetData{})
}

// resetRequest mails a reset link when the address has an account, and
// answers the same whether it has or not.
func (a *Auth) resetRequest(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	if len(email) > 254 {
		email = email[:254]
	}
	token, err := a.Accounts.StartReset(r.Context(), email)
	if err != nil {
		a.logger().Error("password reset failed", slog.String("error", err.Error()))
		a.Renderer.Error(w, r, http.StatusInternalServerError, "The reset failed on our side. The error has been logged; try again in a minute.")
		return
	}
	detail := "no link sent (no such account, disabled, or too many requests)"
	if token != "" {
		detail = "link sent"
		if err := a.sendReset(r, email, token); err != nil {
			detail = "link not sent: " + err.Error()
			a.logger().Error("password reset mail failed", slog.String("user", email), slog.String("error", err.Error()))
		}
	}
	a.audit(r.Context(), accounts.Entry{Actor: strings.ToLower(email), Action: "reset.request",
		Detail: detail + ", client " + a.clientIP(r)})
	a.renderReset(w, r, http.StatusOK, "reset-sent", resetData{Email: email})
}

func (a *Auth) sendReset(r *http.Request, email, token string) error {
	if a.SendReset == nil || a.SiteURL == "" {
		return errors.New("password reset mail is not configured (site URL or relay)")
	}
	link := strings.TrimRight(a.SiteURL, "/") + "/reset/" + token
	return a.SendReset(r.Context(), strings.ToLower(email), link)
}

func (a *Auth) resetForm(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	u, err := a.Accounts.CheckReset(r.Context(), token)
	if !a.resetUsable(w, r, err) {
		return
	}
	a.renderReset(w, r, http.StatusOK, "reset-form", resetData{Email: u.Email, Action: "/reset/" + token})
}

// resetUsable shows the page for an unusable reset link (or an internal
// error) and reports whether err was nil.
func (a *Auth) resetUsable(w http.ResponseWriter, r *http.Request, err error) bool {
	var nf *accounts.NotFoundError
	switch {
	case err == nil:
		return true
	case errors.As(err, &nf):
		a.renderReset(w, r, http.StatusNotFound, "reset-bad", resetData{})
	default:
		a.logger().Error("password reset failed", slog.String("error", err.Error()))
		a.Renderer.Error(w, r, http.StatusInternalServerError, "The reset failed on our side. The error has been logged; try again in a minute.")
	}
	return false
}

func (a *Auth) reset(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		u, err := a.Accounts.CheckReset(r.Context(), token)
		if a.resetUsable(w, r, err) {
			a.renderReset(w, r, http.StatusUnprocessableEntity, "reset-form", resetData{Email: u.Email, Action: "/reset/" + token,
				Error: "The two passwords differ. Type the same new password twice."})
		}
		return
	}
	u, err := a.Accounts.FinishReset(r.Context(), token, pw)
	var inv *accounts.InvalidError
	if errors.As(err, &inv) {
		u, err := a.Accounts.CheckReset(r.Context(), token)
		if a.resetUsable(w, r, err) {
			a.renderReset(w, r, http.StatusUnprocessableEntity, "reset-form", resetData{Email: u.Email, Action: "/reset/" + token,
				Error: "That password cannot be used: " + inv.Problem + "."})
		}
		return
	}
	if !a.resetUsable(w, r, err) {
		return
	}
	a.audit(r.Context(), accounts.Entry{Actor: u.Email, Action: "reset.done",
		Detail: "password changed by reset link, sessions ended, client " + a.clientIP(r)})
	http.Redirect(w, r, "/login?reset=done", http.StatusSeeOther)
}
