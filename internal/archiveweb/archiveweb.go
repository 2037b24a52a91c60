package archiveweb

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

//go:embed assets
var assets embed.FS

// Options are the dependencies of the archive pages.
type Options struct {
	// Archive is the archive store (required).
	Archive *archive.Archive
	// Lists is the lists store, for lists, roles and settings (required).
	Lists *lists.Store
	// Renderer renders the pages in the common layout; nil: a new one.
	Renderer *web.Renderer
	// Logger receives errors and deletions; nil: discarded.
	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// SiteURL is the site's public base URL ("https://lists.example.org"),
	// used for the Atom feed's ids and links. Empty: taken from the
	// request, so ids then depend on the host name used.
	SiteURL string
	// Private reports whether a list's archive is shown only to its
	// members, moderators and owners (and site admins). Nil: the list's
	// archive_policy is private, or none (nothing new is archived; what
	// was archived before is kept for the members).
	Private func(l *lists.List) bool
	// Delete removes a message, leaving a tombstone. Nil: Archive.Delete.
	// The daemon may wire a function that also writes the audit log.
	Delete func(ctx context.Context, list string, number int64, reason, by string) error
}

// Handler serves the archive pages. Build it with New; it is safe for
// concurrent use.
type Handler struct {
	o    Options
	tmpl *template.Template
	log  *slog.Logger
	css  []byte
}

// New checks o and parses the embedded templates.
func New(o Options) (*Handler, error) {
	if o.Archive == nil {
		return nil, errors.New("archiveweb: Options.Archive is required")
	}
	if o.Lists == nil {
		return nil, errors.New("archiveweb: Options.Lists is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Private == nil {
		o.Private = func(l *lists.List) bool { return l.Settings.ArchivePolicy != lists.ArchivePolicyPublic }
	}
	if o.Delete == nil {
		o.Delete = o.Archive.Delete
	}
	if o.Renderer == nil {
		rd, err := web.NewRenderer(o.Logger)
		if err != nil {
			return nil, fmt.Errorf("archiveweb: %w", err)
		}
		o.Renderer = rd
	}
	o.SiteURL = strings.TrimRight(o.SiteURL, "/")
	t, err := template.New("archiveweb").Funcs(funcs()).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("archiveweb: templates: %w", err)
	}
	css, err := assets.ReadFile("assets/archive.css")
	if err != nil {
		return nil, fmt.Errorf("archiveweb: %w", err)
	}
	return &Handler{o: o, tmpl: t, log: o.Logger, css: css}, nil
}

// Routes registers the archive pages on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/archive.css", h.stylesheet)
	mux.HandleFunc("GET /archive/{$}", h.archives)
	mux.HandleFunc("GET /archive/search", h.siteSearch)
	mux.HandleFunc("GET /archive/{list}", h.slash)
	mux.HandleFunc("GET /archive/{list}/{$}", h.page(h.index))
	mux.HandleFunc("GET /archive/{list}/{year}/{month}/{$}", h.page(h.month))
	mux.HandleFunc("GET /archive/{list}/{number}", h.page(h.message))
	mux.HandleFunc("GET /archive/{list}/{number}/attachments/{index}", h.page(h.attachment))
	mux.HandleFunc("POST /archive/{list}/{number}/delete", h.page(h.deletePost))
	mux.HandleFunc("GET /archive/{list}/m/{permalink}", h.page(h.permalink))
	mux.HandleFunc("GET /archive/{list}/feed.atom", h.page(h.feed))
	mux.HandleFunc("GET /archive/{list}/search", h.page(h.search))
	mux.HandleFunc("GET /pipermail/{name}", h.pipermail)
	mux.HandleFunc("GET /pipermail/{name}/{rest...}", h.pipermail)
	mux.HandleFunc("GET /lists/{list}/archive", h.listsArchive)
	mux.HandleFunc("GET /lists/{list}/archive/{rest...}", h.listsArchive)
}

func (h *Handler) stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(h.css)
}

// slash sends /archive/{list} to /archive/{list}/.
func (h *Handler) slash(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, archivePath(r.PathValue("list"), ""), http.StatusMovedPermanently)
}

// listsArchive serves the {archive_url} of list footers,
// /lists/{list}/archive/..., by redirecting to the archive.
func (h *Handler) listsArchive(w http.ResponseWriter, r *http.Request) {
	target := archivePath(r.PathValue("list"), "")
	if rest := r.PathValue("rest"); rest != "" {
		target += rest
	}
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusMovedPermanently)
}

// fail shows err as an error page: missing things as 404, the rest as a
// logged 500 without details.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var nf *archive.NotFoundError
	var lnf *lists.NotFoundError
	var inv *lists.InvalidError
	switch {
	case errors.As(err, &nf):
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such message in this archive.")
	case errors.As(err, &lnf) || errors.As(err, &inv):
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such list.")
	case errors.Is(err, context.Canceled):
		// The reader went away; nothing to show.
	default:
		h.log.Error("archiveweb: request failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		h.o.Renderer.Error(w, r, http.StatusInternalServerError, "Something went wrong. The error has been logged.")
	}
}

// render shows page name with data in the layout. A public archive's page
// for an anonymous reader may be cached briefly (deletions show within a
// minute); every other page is not stored (the middleware's default).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, a *access, status int, title string, nav []web.Link, name string, data any) {
	a.cacheable(w)
	h.o.Renderer.Render(w, r, status, web.Page{Title: title, Nav: nav}, h.tmpl, name, data)
}

// archivePath is the URL of page sub of list's archive ("" for its index).
func archivePath(list, sub string) string {
	return "/archive/" + url.PathEscape(list) + "/" + sub
}

// messagePath is the URL of message n of list.
func messagePath(list string, n int64) string {
	return archivePath(list, strconv.FormatInt(n, 10))
}

// monthPath is the URL of a month of list's archive.
func monthPath(list string, year int, month time.Month) string {
	return archivePath(list, fmt.Sprintf("%04d/%02d/", year, int(month)))
}

// siteURL is the absolute base of the site for r.
func (h *Handler) siteURL(r *http.Request) string {
	if h.o.SiteURL != "" {
		return h.o.SiteURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"archivePath": archivePath,
		"messagePath": messagePath,
		"monthPath":   monthPath,
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"day": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"size": func(n int) string {
			switch {
			case n >= 1<<20:
				return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
			case n >= 1<<10:
				return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
			}
			return fmt.Sprintf("%d bytes", n)
		},
		"monthName": func(y int, m time.Month) string { return fmt.Sprintf("%s %d", m, y) },
		"has":       func(n int64) bool { return n != archive.NoNumber },
	}
}
