package webui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

//go:embed assets
var assets embed.FS

// AuditEntry is one action taken in the list pages, for the audit log.
type AuditEntry struct {
	Actor  string // the viewer's email
	Action string // e.g. "settings.change", "members.add", "held.approve"
	List   string // posting address
	Target string // what was acted on: a version, addresses, held ids
	Detail string // reason, counts
}

// AuditRow is one entry of the audit log as the owners' audit page shows it.
type AuditRow struct {
	ID     int64
	At     time.Time
	Actor  string
	Action string
	Target string
	Detail string
}

// TraceRow is one mail log event of a message, as the trace page shows it.
type TraceRow struct {
	Time      time.Time
	Kind      string // accepted, delivered, deferred, held, decision, ...
	QueueID   string
	MessageID string
	From      string
	Rcpt      string
	Action    string
	Detail    string // reply, rules, stage: whatever explains the event
}

// Options are the dependencies of the list pages.
type Options struct {
	// Lists is the lists store (required).
	Lists *lists.Store
	// Moderate applies a moderator's decision to held posts (required). The
	// daemon wires the list server's ModerateMany, so that an approved post
	// is distributed before it leaves the queue.
	Moderate func(ctx context.Context, list string, ids []int64, action lists.ModAction, reason, moderator string) ([]lists.HeldResult, error)
	// Subscribe asks for addr to join list following its policy and mails
	// the confirmation request when one is needed. Nil: Lists.Subscribe,
	// which mails nothing (a confirmation token is then lost).
	Subscribe func(ctx context.Context, list, addr string) (lists.SubscribeResult, error)
	// Confirm completes what a mailed confirmation token was for (a
	// subscription or an unsubscription). The daemon wires the list
	// server's ConfirmToken, which tells the moderators of a request that
	// now waits for them. Nil: Lists.Confirm, which tells nobody.
	Confirm func(ctx context.Context, token string) (lists.SubscribeResult, error)
	// LookupToken tells what a confirmation token is for without using it.
	// Nil: Lists.LookupToken.
	LookupToken func(ctx context.Context, token string) (lists.SubscribeResult, error)
	// SubscribeLimits bound the public subscribe form per client and per
	// address; zero fields take the defaults (see SubscribeLimits).
	SubscribeLimits SubscribeLimits
	// ClientIP returns the client address that the subscribe limits count;
	// nil: the host of RemoteAddr. Behind a reverse proxy, set it to read
	// the proxy's header (the same function as web.Auth.ClientIP).
	ClientIP func(*http.Request) string
	// Audit records an action; nil: actions are only logged.
	Audit func(ctx context.Context, e AuditEntry) error
	// AuditLog returns up to limit audit entries of list with an ID below
	// before (0: from the newest), newest first, for the owners' audit
	// page. Nil: that page is not served (404).
	AuditLog func(ctx context.Context, list string, before int64, limit int) ([]AuditRow, error)
	// Trace returns the mail log events of messages of list matching query
	// (a queue id, Message-ID or address). It must return only events of
	// that list. Nil: the trace page is not served (404).
	Trace func(ctx context.Context, list string, query string) ([]TraceRow, error)
	// Private reports whether a list is hidden from viewers who have no
	// role on it (they get 404, and it is left out of the index). Nil:
	// every list is public.
	Private func(l *lists.List) bool
	// Renderer renders the pages in the common layout; nil: a new one.
	Renderer *web.Renderer
	// Logger receives errors and actions; nil: discarded.
	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// UI serves the list pages. Build it with New; it is safe for concurrent use.
type UI struct {
	o    Options
	tmpl *template.Template
	log  *slog.Logger
	js   []byte
	css  []byte
	// byIP and byAddr count uses of the public subscribe form.
	byIP, byAddr *limiter
}

// New checks o and parses the embedded templates.
func New(o Options) (*UI, error) {
	if o.Lists == nil {
		return nil, errors.New("webui: Options.Lists is required")
	}
	if o.Moderate == nil {
		return nil, errors.New("webui: Options.Moderate is required (wire the list server's ModerateMany)")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Renderer == nil {
		rd, err := web.NewRenderer(o.Logger)
		if err != nil {
			return nil, fmt.Errorf("webui: %w", err)
		}
		o.Renderer = rd
	}
	t, err := template.New("webui").Funcs(funcs()).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("webui: templates: %w", err)
	}
	js, err := assets.ReadFile("assets/webui.js")
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	css, err := assets.ReadFile("assets/webui.css")
	if err != nil {
		return nil, fmt.Errorf("webui: %w", err)
	}
	lim := o.SubscribeLimits.withDefaults()
	return &UI{o: o, tmpl: t, log: o.Logger, js: js, css: css,
		byIP:   newLimiter(lim.PerIP, lim.IPWindow),
		byAddr: newLimiter(lim.PerAddress, lim.AddressWindow)}, nil
}

// Routes registers the list pages on mux.
func (u *UI) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/webui.js", u.static("text/javascript; charset=utf-8", u.js))
	mux.HandleFunc("GET /static/webui.css", u.static("text/css; charset=utf-8", u.css))
	mux.HandleFunc("GET /lists", u.index)
	mux.HandleFunc("GET /lists/{list}", u.page(needPublic, u.overview))
	mux.HandleFunc("POST /lists/{list}/subscribe", u.page(needPublic, u.subscribe))
	mux.HandleFunc("POST /lists/{list}/me", u.page(needMember, u.me))
	mux.HandleFunc("GET /lists/{list}/settings", u.page(needOwner, u.settingsForm))
	mux.HandleFunc("POST /lists/{list}/settings", u.page(needOwner, u.settingsPost))
	mux.HandleFunc("GET /lists/{list}/history", u.page(needOwner, u.history))
	mux.HandleFunc("POST /lists/{list}/history/{version}/restore", u.page(needOwner, u.restore))
	mux.HandleFunc("GET /lists/{list}/members", u.page(needOwner, u.members))
	mux.HandleFunc("GET /lists/{list}/members.csv", u.page(needOwner, u.membersCSV))
	mux.HandleFunc("POST /lists/{list}/members/add", u.page(needOwner, u.membersAdd))
	mux.HandleFunc("POST /lists/{list}/members/remove", u.page(needOwner, u.membersRemove))
	mux.HandleFunc("POST /lists/{list}/members/import", u.page(needOwner, u.membersImport))
	mux.HandleFunc("POST /lists/{list}/members/mode", u.page(needOwner, u.membersMode))
	mux.HandleFunc("GET /lists/{list}/held", u.page(needModerator, u.held))
	mux.HandleFunc("POST /lists/{list}/held", u.page(needModerator, u.heldPost))
	mux.HandleFunc("GET /lists/{list}/held/{id}", u.page(needModerator, u.heldView))
	mux.HandleFunc("GET /lists/{list}/decisions", u.page(needModerator, u.decisions))
	mux.HandleFunc("GET /lists/{list}/trace", u.page(needModerator, u.trace))
	mux.HandleFunc("GET /lists/{list}/requests", u.page(needModerator, u.requests))
	mux.HandleFunc("POST /lists/{list}/requests", u.page(needModerator, u.requestsPost))
	mux.HandleFunc("GET /lists/{list}/audit", u.page(needOwner, u.auditLog))
	mux.HandleFunc("GET /lists/{list}/confirm/{token}", u.confirmToken)
	mux.HandleFunc("POST /lists/{list}/confirm/{token}", u.confirmToken)
	mux.HandleFunc("GET /lists/{list}/unsubscribe", u.unsubscribeLink)
	mux.HandleFunc("POST /lists/{list}/unsubscribe", u.unsubscribeLink)
}

// static serves an embedded asset.
func (u *UI) static(ctype string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	}
}

// audit records e, logging a failure (the action itself already happened).
func (u *UI) audit(ctx context.Context, e AuditEntry) {
	u.log.Info("webui: action", slog.String("actor", e.Actor), slog.String("action", e.Action),
		slog.String("list", e.List), slog.String("target", e.Target), slog.String("detail", e.Detail))
	if u.o.Audit == nil {
		return
	}
	if err := u.o.Audit(ctx, e); err != nil {
		u.log.Error("webui: audit log write failed", slog.String("action", e.Action), slog.String("list", e.List),
			slog.String("error", err.Error()))
	}
}

// fail shows err to the reader as an error page: input problems with
// their message, missing things as 404, the rest as a logged 500 without
// details.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	var nf *lists.NotFoundError
	var inv *lists.InvalidError
	var se *lists.SettingsError
	switch {
	case errors.As(err, &nf):
		u.o.Renderer.Error(w, r, http.StatusNotFound, "Not found: "+nf.What+" "+nf.Key+".")
	case errors.As(err, &inv):
		u.o.Renderer.Error(w, r, http.StatusBadRequest, inv.Error())
	case errors.As(err, &se):
		u.o.Renderer.Error(w, r, http.StatusBadRequest, se.Error())
	case errors.Is(err, context.Canceled):
		// The reader went away; nothing to show.
	default:
		u.log.Error("webui: request failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		u.o.Renderer.Error(w, r, http.StatusInternalServerError, "Something went wrong. The error has been logged.")
	}
}

// render shows page name with data in the layout.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, title string, nav []web.Link, name string, data any) {
	u.o.Renderer.Render(w, r, status, web.Page{Title: title, Nav: nav}, u.tmpl, name, data)
}

// redirect sends the browser to path with the query q (303, so a reload
// does not repeat a POST).
func redirect(w http.ResponseWriter, r *http.Request, path string, q url.Values) {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// listPath is the URL of list's page sub ("" for the overview).
func listPath(list, sub string) string {
	p := "/lists/" + url.PathEscape(list)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"listPath": listPath,
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"join": strings.Join,
	}
}

func errAttr(err error) slog.Attr { return slog.String("error", err.Error()) }
