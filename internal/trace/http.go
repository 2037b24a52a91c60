package trace

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Searcher looks messages up; *Store and *Reader are Searchers.
type Searcher interface {
	Lookup(ctx context.Context, q Query) ([]Message, error)
}

//go:embed trace.html
var pageSource string

// Handler serves the trace search:
//
//	GET /trace?q=...&from=...&to=...&service=...&list=...   HTML page
//	GET /api/v1/trace?q=...                                  JSON
//
// q is a queue id (or prefix of at least 8 hex digits), a Message-ID with
// or without <>, or an address; from and to bound an address search
// (2006-01-02, 2006-01-02T15:04 or RFC 3339; UTC unless a zone is given);
// since=DURATION (e.g. 24h) is from = now - since. Authentication and
// which lists a user may see are the caller's business: wrap the handler.
func Handler(s Searcher) http.Handler {
	h := &handler{s: s, page: template.Must(template.New("trace").Funcs(template.FuncMap{
		"utc":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") },
		"details": func(e Event) string { return e.Details(time.UTC) },
	}).Parse(pageSource)), now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /trace", h.html)
	mux.HandleFunc("GET /api/v1/trace", h.json)
	return mux
}

type handler struct {
	s    Searcher
	page *template.Template
	now  func() time.Time
}

// form is the search as typed, echoed back into the form.
type form struct {
	Q, From, To, Since, Service, List string
}

type pageData struct {
	Form     form
	Searched bool
	Error    string
	Messages []Message
}

// parse reads the search; ok is false when there is nothing to search.
func (h *handler) parse(r *http.Request) (form, Query, bool, error) {
	v := r.URL.Query()
	f := form{Q: v.Get("q"), From: v.Get("from"), To: v.Get("to"), Since: v.Get("since"),
		Service: v.Get("service"), List: v.Get("list")}
	q := Query{Text: strings.TrimSpace(f.Q), Service: strings.TrimSpace(f.Service), List: strings.TrimSpace(f.List)}
	if q.Text == "" && q.Service == "" && q.List == "" {
		return f, q, false, nil
	}
	var err error
	if s := strings.TrimSpace(f.From); s != "" {
		if q.From, err = ParseTime(s, time.UTC); err != nil {
			return f, q, true, err
		}
	}
	if s := strings.TrimSpace(f.To); s != "" {
		if q.To, err = ParseTime(s, time.UTC); err != nil {
			return f, q, true, err
		}
	}
	if s := strings.TrimSpace(f.Since); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return f, q, true, errors.New("since: want a duration such as 24h")
		}
		q.From = h.now().Add(-d)
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil {
			return f, q, true, errors.New("limit: want a number")
		}
	}
	return f, q, true, nil
}

func (h *handler) html(w http.ResponseWriter, r *http.Request) {
	f, q, ok, err := h.parse(r)
	d := pageData{Form: f, Searched: ok}
	status := http.StatusOK
	if err != nil {
		d.Error, status = err.Error(), http.StatusBadRequest
	} else if ok {
		if d.Messages, err = h.s.Lookup(r.Context(), q); err != nil {
			d.Error, status = err.Error(), lookupStatus(err)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = h.page.Execute(w, d) // a write error means the client went away
}

func (h *handler) json(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fail := func(status int, err error) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
	}
	_, q, ok, err := h.parse(r)
	switch {
	case err != nil:
		fail(http.StatusBadRequest, err)
		return
	case !ok:
		fail(http.StatusBadRequest, &QueryError{Reason: "q (queue id, Message-ID or address), service or list is required"})
		return
	}
	ms, err := h.s.Lookup(r.Context(), q)
	if err != nil {
		fail(lookupStatus(err), err)
		return
	}
	if ms == nil {
		ms = []Message{}
	}
	_ = json.NewEncoder(w).Encode(struct {
		Messages []Message `json:"messages"`
	}{ms})
}

func lookupStatus(err error) int {
	var qe *QueryError
	if errors.As(err, &qe) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
