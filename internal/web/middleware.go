package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/posthorn/posthorn/internal/accounts"
)

// Middleware wraps the whole site. For every request it sets the security
// headers, then finds who is asking:
//
//   - an Authorization: Bearer API token, accepted under /api/ only (401
//     elsewhere, and for a bad token); such requests skip the CSRF check,
//     since no browser attaches the header on its own;
//   - else the session cookie: the Viewer and the session's CSRF token;
//   - else an anonymous visitor, whose CSRF token is a random value kept in
//     its own cookie (double submit), so the login and reset forms are
//     protected too.
//
// A POST, PUT, PATCH or DELETE without the right token in the form field
// CSRFField or the header CSRFHeader is refused with 403 before it reaches
// next.
func (a *Auth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		a.setSecurityHeaders(rw.Header())
		w := &cacheWriter{ResponseWriter: rw}
		if a.SelfAuthenticating != nil && unsafeMethod(r.Method) && a.SelfAuthenticating(r) {
			next.ServeHTTP(w, r.WithContext(WithViewer(r.Context(), nil)))
			return
		}
		api := r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/")
		if authz := r.Header.Get("Authorization"); authz != "" {
			scheme, token, _ := strings.Cut(authz, " ")
			if strings.EqualFold(scheme, "Bearer") || api {
				a.bearer(w, r, next, api, strings.EqualFold(scheme, "Bearer"), strings.TrimSpace(token))
				return
			}
		}
		var csrf string
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			u, sess, err := a.Accounts.Session(r.Context(), c.Value)
			var nf *accounts.NotFoundError
			switch {
			case err == nil:
				w.private = true
				r = r.WithContext(WithViewer(r.Context(), viewerOf(u)))
				csrf = csrfFromSecret(sess.CSRFSecret)
			case errors.As(err, &nf):
				a.clearSession(w)
			default:
				a.logger().Error("session lookup failed", slog.String("error", err.Error()))
				a.Renderer.Error(w, r, http.StatusServiceUnavailable, "The site cannot check your login just now. Try again in a minute.")
				return
			}
		}
		if csrf == "" {
			csrf = a.anonCSRF(w, r)
		}
		r = r.WithContext(WithCSRF(r.Context(), csrf))
		// The form is parsed on this copy of the request, so the server
		// would not remove a multipart upload's temporary files: do it here.
		defer func() {
			if r.MultipartForm != nil {
				r.MultipartForm.RemoveAll()
			}
		}()
		if unsafeMethod(r.Method) && !a.checkCSRF(w, r, csrf) {
			a.logger().Warn("request refused: CSRF token missing or wrong", slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.String("client", a.clientIP(r)))
			if api && ViewerFrom(r.Context()) == nil {
				// Neither a token nor a session: say what is missing.
				w.Header().Set("WWW-Authenticate", `Bearer realm="posthorn"`)
				apiError(w, http.StatusUnauthorized, "an API token is needed: Authorization: Bearer TOKEN")
				return
			}
			if api {
				apiError(w, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header")
				return
			}
			a.Renderer.Error(w, r, http.StatusForbidden,
				"This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and try again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer serves a request that carries an Authorization header.
func (a *Auth) bearer(w *cacheWriter, r *http.Request, next http.Handler, api, isBearer bool, token string) {
	w.private = true
	w.Header().Set("WWW-Authenticate", `Bearer realm="posthorn"`)
	if !api {
		apiError(w, http.StatusUnauthorized, "API tokens are accepted only under /api/")
		return
	}
	if !isBearer {
		apiError(w, http.StatusUnauthorized, "use Authorization: Bearer TOKEN")
		return
	}
	u, err := a.Accounts.APIToken(r.Context(), token)
	var nf *accounts.NotFoundError
	switch {
	case errors.As(err, &nf):
		w.Header().Set("WWW-Authenticate", `Bearer realm="posthorn", error="invalid_token"`)
		apiError(w, http.StatusUnauthorized, "invalid or revoked API token")
		return
	case err != nil:
		a.logger().Error("API token lookup failed", slog.String("error", err.Error()))
		apiError(w, http.StatusServiceUnavailable, "cannot check the token just now")
		return
	}
	next.ServeHTTP(w, r.WithContext(WithViewer(r.Context(), viewerOf(u))))
}

func viewerOf(u *accounts.User) *Viewer {
	return &Viewer{UserID: u.ID, Email: u.Email, Name: u.Name, SiteAdmin: u.SiteAdmin}
}

// apiError writes {"error": msg} with status.
func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (a *Auth) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: a.Secure, SameSite: http.SameSiteLaxMode})
}

func (a *Auth) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: a.Secure, SameSite: http.SameSiteLaxMode})
}
