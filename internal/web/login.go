package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
)

// homePath is where a login goes when it has no (acceptable) next.
const homePath = "/lists"

// safeNext returns next when it is a path on this site, else homePath. It
// refuses anything a browser could read as another host: a scheme,
// "//host", "/\host", control characters.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\x00\r\n\t") {
		return homePath
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return homePath
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return homePath
		}
	}
	return next
}

// loginURL is the login page coming back to next.
func loginURL(next string) string {
	if next == "" || next == homePath {
		return "/login"
	}
	return "/login?next=" + url.QueryEscape(next)
}

type loginData struct {
	CSRF   string
	Next   string
	Email  string
	Error  string
	Notice string
}

func (a *Auth) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	d.CSRF = CSRFToken(r.Context())
	a.Renderer.Render(w, r, status, Page{Title: "Log in"}, a.pages, "login", d)
}

func (a *Auth) loginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if ViewerFrom(r.Context()) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d := loginData{Next: next}
	if r.URL.Query().Get("reset") == "done" {
		d.Notice = "Your password has been changed. Log in with the new one."
	}
	a.renderLogin(w, r, http.StatusOK, d)
}

func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	if len(email) > 254 {
		email = email[:254]
	}
	next := safeNext(r.PostFormValue("next"))
	ip := a.clientIP(r)
	u, err := a.Accounts.Authenticate(r.Context(), email, r.PostFormValue("password"), ip)
	var ce *accounts.CredentialsError
	var le *accounts.LockedError
	switch {
	case errors.As(err, &le):
		what := "This account is temporarily locked after too many failed logins."
		if le.Client {
			what = "Too many failed logins came from your network, so logging in from it is paused."
		}
		a.audit(r.Context(), accounts.Entry{Actor: strings.ToLower(email), Action: "login.failed",
			Detail: "locked until " + le.Until.UTC().Format(time.RFC3339) + ", client " + ip})
		a.renderLogin(w, r, http.StatusTooManyRequests, loginData{Next: next, Email: email,
			Error: what + " Try again after " + le.Until.UTC().Format("15:04 MST") + ", or reset your password."})
		return
	case errors.As(err, &ce):
		a.audit(r.Context(), accounts.Entry{Actor: strings.ToLower(email), Action: "login.failed",
			Detail: "wrong address or password, client " + ip})
		a.renderLogin(w, r, http.StatusUnauthorized, loginData{Next: next, Email: email,
			Error: "The address or the password is not right."})
		return
	case err != nil:
		a.logger().Error("login failed", slog.String("error", err.Error()))
		a.Renderer.Error(w, r, http.StatusInternalServerError, "Logging in failed on our side. The error has been logged; try again in a minute.")
		return
	}
	token, _, err := a.Accounts.NewSession(r.Context(), u.ID, ip)
	if err != nil {
		a.logger().Error("session creation failed", slog.String("error", err.Error()))
		a.Renderer.Error(w, r, http.StatusInternalServerError, "Logging in failed on our side. The error has been logged; try again in a minute.")
		return
	}
	a.setSession(w, token)
	a.audit(r.Context(), accounts.Entry{Actor: u.Email, Action: "login", Detail: "client " + ip})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := a.Accounts.EndSession(r.Context(), c.Value); err != nil {
			a.logger().Error("logout failed", slog.String("error", err.Error()))
			a.Renderer.Error(w, r, http.StatusInternalServerError, "Logging out failed on our side. Try again in a minute.")
			return
		}
	}
	if v := ViewerFrom(r.Context()); v != nil {
		a.audit(r.Context(), accounts.Entry{Actor: v.Email, Action: "logout", Detail: "client " + a.clientIP(r)})
	}
	a.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// serveStylesheet serves the embedded CSS; browsers keep it for a day and
// revalidate with its ETag after that.
func serveStylesheet(w http.ResponseWriter, r *http.Request) {
	css := Stylesheet()
	sum := sha256.Sum256(css)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	http.ServeContent(w, r, "posthorn.css", time.Time{}, bytes.NewReader(css))
}
