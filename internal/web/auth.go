package web

import (
	"context"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
)

// SessionCookie is the name of the login session cookie.
//
// It is HttpOnly (no script can read it; pages run none anyway), Secure
// unless the site is plain http on loopback, Path=/, and SameSite=Lax:
// Strict would drop it when a moderator follows the link in a "post held"
// notice from their mail client, so every link from mail would land on
// the login page. Lax still keeps it off every cross-site POST, and no GET
// changes anything; unsafe methods are guarded by the CSRF token besides.
// It carries no expiry (it ends with the browser); the server ends the
// session after 12 hours idle or 7 days in any case.
const SessionCookie = "posthorn_session"

// Auth is the login layer of the web interface: the Middleware every
// request goes through (security headers, session, CSRF) and the pages for
// logging in and out and resetting a password (Routes).
type Auth struct {
	Accounts *accounts.Store
	Renderer *Renderer
	// Secure sets the Secure flag on cookies (and sends HSTS): true unless
	// the site URL is http:// on loopback.
	Secure bool
	Logger *slog.Logger
	Now    func() time.Time
	// SendReset mails a password reset link to email (through the relay;
	// the daemon wires it).
	SendReset func(ctx context.Context, email, link string) error
	// SiteURL is the public base URL (https://lists.example.org); reset
	// links are built from it, never from the request's Host header.
	SiteURL string
	// ClientIP returns the client address the login limits count; the host
	// of RemoteAddr when nil. Behind a reverse proxy, set it to read the
	// proxy's header, or every failure counts against the proxy.
	ClientIP func(*http.Request) string
	// MaxFormBytes bounds a form body read to check its CSRF token; 32 MiB
	// when 0.
	MaxFormBytes int64
	// SelfAuthenticating reports a request that carries its own signed
	// token as its only credential (the RFC 8058 one-click unsubscribe POST
	// that mail providers send without cookies). Such a request is served
	// as anonymous: no session is attached and no CSRF token is asked for.
	// Nil: none.
	SelfAuthenticating func(*http.Request) bool

	pages *template.Template
}

// SecureSite reports whether cookies for siteURL must be Secure: always,
// except for a plain http:// site on a loopback address (a test or a
// tunnel), where a Secure cookie would never come back.
func SecureSite(siteURL string) bool {
	u, err := url.Parse(siteURL)
	if err != nil || u.Scheme != "http" {
		return true
	}
	host := u.Hostname()
	if host == "localhost" {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err != nil || !ip.IsLoopback()
}

func (a *Auth) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

func (a *Auth) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *Auth) clientIP(r *http.Request) string {
	if a.ClientIP != nil {
		return a.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Routes registers the login, logout, password reset and stylesheet
// handlers on mux. It parses the embedded page templates and panics if they
// are broken (a build defect the tests catch).
func (a *Auth) Routes(mux *http.ServeMux) {
	a.pages = template.Must(template.ParseFS(assets, "assets/auth.html"))
	mux.HandleFunc("GET /login", a.loginForm)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /reset", a.resetRequestForm)
	mux.HandleFunc("POST /reset", a.resetRequest)
	mux.HandleFunc("GET /reset/{token}", a.resetForm)
	mux.HandleFunc("POST /reset/{token}", a.reset)
	mux.HandleFunc("GET /static/posthorn.css", serveStylesheet)
}

// audit writes an audit entry; a failure is logged, not shown (the action
// itself has happened).
func (a *Auth) audit(ctx context.Context, e accounts.Entry) {
	if err := a.Accounts.Audit(ctx, e); err != nil {
		a.logger().Error("audit log write failed", slog.String("action", e.Action), slog.String("actor", e.Actor),
			slog.String("error", err.Error()))
	}
}

// RequireLogin lets only logged-in viewers through: an anonymous GET or
// HEAD is sent to the login page (coming back here afterwards), anything
// else is refused with 403.
func RequireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ViewerFrom(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		http.Error(w, "Log in first.", http.StatusForbidden)
	})
}
