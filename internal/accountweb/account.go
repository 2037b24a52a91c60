package accountweb

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/web"
)

//go:embed assets
var assets embed.FS

// ListRole is a role the user holds on one list.
type ListRole struct {
	List string // posting address, e.g. dev@lists.example.org
	Role string // "owner" or "moderator"
}

// Options are the dependencies of the account pages.
type Options struct {
	// Accounts is the accounts store (required).
	Accounts *accounts.Store
	// Renderer renders the pages in the common layout (required).
	Renderer *web.Renderer
	// Roles returns the lists on which email is an owner or a moderator.
	// Nil: the page shows no list roles.
	Roles func(ctx context.Context, email string) ([]ListRole, error)
	// ClientIP returns the client address written in the audit log; nil:
	// the host of RemoteAddr. Behind a reverse proxy, use the same
	// function as web.Auth.ClientIP.
	ClientIP func(*http.Request) string
	// Logger receives errors; nil: discarded.
	Logger *slog.Logger
	// Location is the time zone dates are shown in; nil: UTC.
	Location *time.Location
}

// Handler serves the account pages. Build it with New; it is safe for
// concurrent use.
type Handler struct {
	o    Options
	tmpl *template.Template
	log  *slog.Logger
	css  []byte
}

// New checks o and parses the embedded templates.
func New(o Options) (*Handler, error) {
	if o.Accounts == nil {
		return nil, errors.New("accountweb: Options.Accounts is required")
	}
	if o.Renderer == nil {
		return nil, errors.New("accountweb: Options.Renderer is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	loc := o.Location
	t, err := template.New("account").Funcs(template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.In(loc).Format("2006-01-02 15:04 MST")
		},
		"listPath": func(list string) string { return "/lists/" + url.PathEscape(list) },
	}).ParseFS(assets, "assets/account.html")
	if err != nil {
		return nil, fmt.Errorf("accountweb: templates: %w", err)
	}
	css, err := assets.ReadFile("assets/account.css")
	if err != nil {
		return nil, fmt.Errorf("accountweb: %w", err)
	}
	return &Handler{o: o, tmpl: t, log: o.Logger, css: css}, nil
}

// Routes registers the account pages on mux, each behind web.RequireLogin,
// and their stylesheet.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/account.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(h.css)
	})
	handle := func(pattern string, f func(http.ResponseWriter, *http.Request, *web.Viewer)) {
		mux.Handle(pattern, web.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f(w, r, web.ViewerFrom(r.Context()))
		})))
	}
	handle("GET /account", h.page)
	handle("POST /account/password", h.password)
	handle("POST /account/tokens", h.createToken)
	handle("POST /account/tokens/{id}/revoke", h.revokeToken)
}

// pageData is what the account page shows. Problem and Notice are
// messages chosen here, never text from the request.
type pageData struct {
	CSRF      string
	User      *accounts.User
	Roles     []ListRole
	Tokens    []accounts.APITokenInfo
	Notice    string
	Problem   string // about the password form
	TokenErr  string // about the token form
	TokenName string // the name typed, kept after an error
	// NewToken is the secret of a token just created: shown on this
	// response only.
	NewToken     string
	NewTokenName string
	MinPassword  int
}

// notice is what the ?done= code of a redirect says.
func notice(code string) string {
	switch code {
	case "password":
		return "Your password has been changed. Your other sessions have been logged out; this one stays."
	case "revoked":
		return "The token has been revoked. Programs using it can no longer log in with it."
	}
	return ""
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request, v *web.Viewer) {
	h.show(w, r, v, http.StatusOK, pageData{Notice: notice(r.URL.Query().Get("done"))})
}

// show renders the account page of v with d completed from the stores.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, v *web.Viewer, status int, d pageData) {
	ctx := r.Context()
	u, err := h.o.Accounts.GetByID(ctx, v.UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.User = u
	if d.Tokens, err = h.o.Accounts.APITokens(ctx, u.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	if h.o.Roles != nil {
		if d.Roles, err = h.o.Roles(ctx, u.Email); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	d.CSRF = web.CSRFToken(ctx)
	d.MinPassword = accounts.MinPassword
	h.o.Renderer.Render(w, r, status, web.Page{Title: "Your account", Nav: []web.Link{{Text: "Lists", Href: "/lists"}, {Text: "Your account"}}},
		h.tmpl, "account", d)
}

// fail shows an error page; internal errors are logged, not shown.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var nf *accounts.NotFoundError
	switch {
	case errors.As(err, &nf):
		h.o.Renderer.Error(w, r, http.StatusNotFound, "Not found: "+nf.What+".")
	case errors.Is(err, context.Canceled):
		// The reader went away; nothing to show.
	default:
		h.log.Error("accountweb: request failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		h.o.Renderer.Error(w, r, http.StatusInternalServerError, "Something went wrong on our side. The error has been logged; try again in a minute.")
	}
}

// audit writes an audit entry; a failure is logged, not shown (the action
// itself has happened).
func (h *Handler) audit(ctx context.Context, e accounts.Entry) {
	if err := h.o.Accounts.Audit(ctx, e); err != nil {
		h.log.Error("audit log write failed", slog.String("action", e.Action), slog.String("actor", e.Actor),
			slog.String("error", err.Error()))
	}
}

func (h *Handler) clientIP(r *http.Request) string {
	if h.o.ClientIP != nil {
		return h.o.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
