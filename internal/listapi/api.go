package listapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/lists"
)

// ModerateFunc applies a moderator's decision to held posts of a list and
// reports per post (the signature of listserv's Server.ModerateMany).
type ModerateFunc func(ctx context.Context, list string, ids []int64, action lists.ModAction, reason, moderator string) ([]lists.HeldResult, error)

// DecisionsFunc returns up to limit decisions of list with an ID below
// before (0: from the newest), newest first.
type DecisionsFunc func(ctx context.Context, list string, before int64, limit int) ([]lists.Decision, error)

// Options are the dependencies of the API.
type Options struct {
	// Lists is the lists store (required).
	Lists *lists.Store
	// Moderate applies moderation decisions (required). The daemon wires
	// the list server's ModerateMany, the function the web UI and the CLI
	// use, so that an approved post is distributed and a rejected one's
	// sender told before the post leaves the queue.
	Moderate ModerateFunc
	// Audit records an action in the audit log; nil: actions are only
	// logged. The daemon wires accounts.Store.Audit.
	Audit func(ctx context.Context, e accounts.Entry) error
	// Private reports whether a list is hidden from viewers who have no
	// role on it (404 for them, and left out of GET /api/v1/lists). It
	// must be the web UI's rule (webui.Options.Private). Nil: every list
	// is public.
	Private func(l *lists.List) bool
	// Decisions pages back through a list's decisions. Nil: the newest
	// 1,000 decisions of Lists.RecentDecisions, filtered, so that older
	// ones cannot be reached.
	Decisions DecisionsFunc
	// Logger receives errors and actions; nil: discarded.
	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// API serves the list administration API. Build it with New; it is safe
// for concurrent use.
type API struct {
	o   Options
	log *slog.Logger
	mux *http.ServeMux
}

// New checks o and builds the routes.
func New(o Options) (*API, error) {
	if o.Lists == nil {
		return nil, errors.New("listapi: Options.Lists is required")
	}
	if o.Moderate == nil {
		return nil, errors.New("listapi: Options.Moderate is required (wire the list server's ModerateMany)")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &API{o: o, log: o.Logger, mux: http.NewServeMux()}
	m := a.mux
	m.HandleFunc("GET /api/v1/lists", a.index)
	m.HandleFunc("GET /api/v1/lists/{list}", a.on(needVisible, a.info))
	m.HandleFunc("PATCH /api/v1/lists/{list}/settings", a.on(needOwner, a.patchSettings))
	m.HandleFunc("GET /api/v1/lists/{list}/members", a.on(needOwner, a.members))
	m.HandleFunc("POST /api/v1/lists/{list}/members", a.on(needOwner, a.addMembers))
	m.HandleFunc("POST /api/v1/lists/{list}/members/remove", a.on(needOwner, a.removeMembers))
	m.HandleFunc("DELETE /api/v1/lists/{list}/members/{address}", a.on(needOwner, a.removeMember))
	m.HandleFunc("PATCH /api/v1/lists/{list}/members/{address}", a.on(needOwner, a.patchMember))
	m.HandleFunc("GET /api/v1/lists/{list}/held", a.on(needModerator, a.held))
	m.HandleFunc("POST /api/v1/lists/{list}/held", a.on(needModerator, a.moderateMany))
	m.HandleFunc("GET /api/v1/lists/{list}/held/{id}", a.on(needModerator, a.heldOne))
	m.HandleFunc("POST /api/v1/lists/{list}/held/{id}", a.on(needModerator, a.moderateOne))
	m.HandleFunc("GET /api/v1/lists/{list}/decisions", a.on(needModerator, a.decisions))
	return a, nil
}

// Routes registers the API on mux: everything under /api/v1/lists.
func (a *API) Routes(mux *http.ServeMux) {
	mux.Handle("/api/v1/lists", a)
	mux.Handle("/api/v1/lists/", a)
}

// Handler returns the API as one handler (for paths under /api/v1/lists).
func (a *API) Handler() http.Handler { return a }

// ServeHTTP dispatches to the endpoints, answering unknown paths and
// methods in JSON (404, or 405 with Allow).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.mux.Handler(r); pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := a.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeError(w, http.StatusNotFound, "no such API endpoint", "")
		return
	}
	for _, m := range allow {
		w.Header().Add("Allow", m)
	}
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed here", "")
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away
}

func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

// badRequest is an input problem found while reading a request: Status
// is 400, 413, 415 or 422.
type badRequest struct {
	Status int
	Field  string
	Msg    string
}

func (e *badRequest) Error() string { return e.Msg }

// maxBody bounds a JSON request body; members bulk requests may be larger.
const (
	maxBody        = 1 << 20
	maxMembersBody = 16 << 20
)

// decode reads r's JSON body into v: it must be application/json, one
// value, no unknown fields, at most limit bytes.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return &badRequest{Status: http.StatusUnsupportedMediaType, Msg: "send the body as Content-Type: application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return &badRequest{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("the body is larger than %d bytes", limit)}
		case errors.As(err, &ute):
			return &badRequest{Status: http.StatusBadRequest, Field: ute.Field, Msg: fmt.Sprintf("%s: want a JSON %s", ute.Field, ute.Type)}
		case errors.Is(err, io.EOF):
			return &badRequest{Status: http.StatusBadRequest, Msg: "the body is empty; send a JSON object"}
		}
		return &badRequest{Status: http.StatusBadRequest, Msg: "the body is not valid JSON for this endpoint: " + err.Error()}
	}
	if dec.More() {
		return &badRequest{Status: http.StatusBadRequest, Msg: "the body has data after its JSON object"}
	}
	return nil
}

// fail answers err: input problems with their message, missing things
// 404, the rest a logged 500 without details.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	var nf *lists.NotFoundError
	var inv *lists.InvalidError
	var se *lists.SettingsError
	switch {
	case errors.As(err, &br):
		writeError(w, br.Status, br.Msg, br.Field)
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, "no such "+nf.What+" "+nf.Key, "")
	case errors.As(err, &inv):
		writeError(w, http.StatusUnprocessableEntity, inv.Field+" "+inv.Value+": "+inv.Problem, inv.Field)
	case errors.As(err, &se):
		writeError(w, http.StatusUnprocessableEntity, se.Error(), "")
	case errors.Is(err, context.Canceled):
		// The client went away; nothing to answer.
	default:
		a.log.Error("listapi: request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("error", err.Error()))
		writeError(w, http.StatusInternalServerError, "internal error; it has been logged", "")
	}
}

// audit records e, logging a failure (the action itself already happened).
func (a *API) audit(ctx context.Context, e accounts.Entry) {
	a.log.Info("listapi: action", slog.String("actor", e.Actor), slog.String("action", e.Action),
		slog.String("list", e.List), slog.String("target", e.Target), slog.String("detail", e.Detail))
	if a.o.Audit == nil {
		return
	}
	if e.At.IsZero() {
		e.At = a.o.Now()
	}
	if err := a.o.Audit(ctx, e); err != nil {
		a.log.Error("listapi: audit log write failed", slog.String("action", e.Action), slog.String("list", e.List),
			slog.String("error", err.Error()))
	}
}
