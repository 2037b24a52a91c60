package web

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Page is what the layout needs besides the page's own body.
type Page struct {
	Title string
	// Nav is the breadcrumb trail, outermost first; the last item is the
	// current page and is not a link.
	Nav []Link
	// Body is the page's own rendered HTML.
	Body template.HTML
	// Viewer and CSRF are filled in by Render from the request.
	Viewer *Viewer
	CSRF   string
}

// Link is one breadcrumb or menu entry.
type Link struct {
	Text string
	Href string
}

// Renderer renders pages into the common layout. Build it once with
// NewRenderer and share it; it is safe for concurrent use.
type Renderer struct {
	layout *template.Template
	logger *slog.Logger
}

// NewRenderer parses the embedded layout.
func NewRenderer(logger *slog.Logger) (*Renderer, error) {
	t, err := template.ParseFS(assets, "assets/layout.html")
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Renderer{layout: t, logger: logger}, nil
}

// Render executes tmpl (by name, with data) and wraps it in the layout with
// status. A template error becomes a plain 500 page and is logged; nothing
// of it reaches the browser.
func (rd *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, p Page, tmpl *template.Template, name string, data any) {
	if tmpl != nil {
		var body bytes.Buffer
		if err := tmpl.ExecuteTemplate(&body, name, data); err != nil {
			rd.logger.Error("page template failed", slog.String("template", name), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
			rd.Error(w, r, http.StatusInternalServerError, "This page could not be shown. The error has been logged.")
			return
		}
		p.Body = template.HTML(body.String())
	}
	p.Viewer = ViewerFrom(r.Context())
	p.CSRF = CSRFToken(r.Context())
	var out bytes.Buffer
	if err := rd.layout.ExecuteTemplate(&out, "layout", p); err != nil {
		rd.logger.Error("layout template failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}

// Error shows a clear error page with status and a message meant for the
// reader (never an internal error string).
func (rd *Renderer) Error(w http.ResponseWriter, r *http.Request, status int, message string) {
	body := template.HTML(`<p class="error" role="alert">` + template.HTMLEscapeString(message) + `</p>`)
	p := Page{Title: http.StatusText(status), Body: body, Viewer: ViewerFrom(r.Context()), CSRF: CSRFToken(r.Context())}
	var out bytes.Buffer
	if err := rd.layout.ExecuteTemplate(&out, "layout", p); err != nil {
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}

// Stylesheet is the embedded CSS, served at /static/posthorn.css.
func Stylesheet() []byte {
	b, _ := assets.ReadFile("assets/posthorn.css")
	return b
}
