package control

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/spool"
)

// QueueOps is what the control API does with the queue; *queue.Queue and
// *Client implement it.
type QueueOps interface {
	List() []queue.Summary
	Show(id string) (*queue.Detail, error)
	Flush(id string) error // "" flushes every message
	Hold(id string) error
	Release(id string) error
	Delete(id string) error
}

// okBody is the reply of an action that succeeded.
type okBody struct {
	OK bool `json:"ok"`
}

// errorBody is the reply of a request that failed.
type errorBody struct {
	Error string `json:"error"`
}

type handler struct {
	ops    QueueOps
	pickup func()
	cfg    ConfigOps
	lists  ListOps
}

// NewHandler serves the control API on ops. pickup wakes the sendmail drop
// pickup; nil answers POST /v1/pickup with 501.
func NewHandler(ops QueueOps, pickup func()) http.Handler {
	return NewDaemonHandler(ops, pickup, nil, nil)
}

// NewDaemonHandler is NewHandler plus the configuration endpoints
// (POST /v1/reload, GET /v1/config) when cfg is not nil, and moderation
// (GET /v1/lists/{list}/held, POST /v1/lists/{list}/held/{id}/{action})
// when lists is not nil.
func NewDaemonHandler(ops QueueOps, pickup func(), cfg ConfigOps, lists ListOps) http.Handler {
	h := &handler{ops: ops, pickup: pickup, cfg: cfg, lists: lists}
	mux := http.NewServeMux()
	if lists != nil {
		mux.HandleFunc("GET /v1/lists/{list}/held", h.held)
		mux.HandleFunc("POST /v1/lists/{list}/held/{id}/{action}", h.moderate)
	}
	if cfg != nil {
		mux.HandleFunc("POST /v1/reload", h.reload)
		mux.HandleFunc("GET /v1/config", h.running)
	}
	mux.HandleFunc("GET /v1/queue", h.list)
	mux.HandleFunc("GET /v1/queue/{id}", h.show)
	mux.HandleFunc("POST /v1/queue/flush", h.flushAll)
	mux.HandleFunc("POST /v1/queue/{id}/{action}", h.action)
	mux.HandleFunc("POST /v1/pickup", h.wakePickup)
	return mux
}

func (h *handler) list(w http.ResponseWriter, _ *http.Request) {
	list := h.ops.List()
	if list == nil {
		list = []queue.Summary{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (h *handler) show(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !spool.ValidID(id) {
		writeError(w, http.StatusBadRequest, "invalid queue id "+quote(id))
		return
	}
	d, err := h.ops.Show(id)
	if err != nil {
		writeOpError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (h *handler) flushAll(w http.ResponseWriter, _ *http.Request) {
	if err := h.ops.Flush(""); err != nil {
		writeOpError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, okBody{OK: true})
}

func (h *handler) action(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !spool.ValidID(id) {
		writeError(w, http.StatusBadRequest, "invalid queue id "+quote(id))
		return
	}
	var op func(string) error
	switch r.PathValue("action") {
	case "flush":
		op = h.ops.Flush
	case "hold":
		op = h.ops.Hold
	case "release":
		op = h.ops.Release
	case "delete":
		op = h.ops.Delete
	default:
		writeError(w, http.StatusBadRequest, "unknown action "+quote(r.PathValue("action")))
		return
	}
	if err := op(id); err != nil {
		writeOpError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, okBody{OK: true})
}

func (h *handler) wakePickup(w http.ResponseWriter, _ *http.Request) {
	if h.pickup == nil {
		writeError(w, http.StatusNotImplemented, "no sendmail pickup in this daemon")
		return
	}
	h.pickup()
	writeJSON(w, http.StatusOK, okBody{OK: true})
}

func writeOpError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, queue.ErrNotFound) {
		status = http.StatusNotFound
	}
	writeError(w, status, err.Error())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
