package listapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/mimetext"
)

// Held paging, and the most posts one bulk decision may name (the web
// UI's limit).
const (
	heldPage    = 100
	maxHeldPage = 1000
	maxModerate = 1000
	// maxPreview bounds the text of a held post's preview, in bytes.
	maxPreview = 64 << 10
)

// heldJSON is a held post's metadata.
type heldJSON struct {
	ID           int64     `json:"id"`
	MessageID    string    `json:"message_id"`
	EnvelopeFrom string    `json:"envelope_from"`
	Sender       string    `json:"sender"`
	Member       bool      `json:"member"`
	Subject      string    `json:"subject"`
	Rule         string    `json:"rule"`
	Reason       string    `json:"reason"`
	Size         int64     `json:"size"`
	State        string    `json:"state"`
	Held         time.Time `json:"held"`
	Expires      time.Time `json:"expires"`
	Moderator    string    `json:"moderator,omitempty"`
	ModReason    string    `json:"moderator_reason,omitempty"`
	Resolved     time.Time `json:"resolved,omitzero"`
}

func heldOf(h *lists.HeldPost) heldJSON {
	j := heldJSON{ID: h.ID, MessageID: h.MessageID, EnvelopeFrom: h.EnvelopeFrom, Sender: h.Sender, Member: h.Member,
		Subject: h.Subject, Rule: h.Rule, Reason: h.Reason, Size: h.Size, State: string(h.State), Held: h.Held.UTC(),
		Expires: h.Expires.UTC(), Moderator: h.Moderator, ModReason: h.ModReason}
	if !h.Resolved.IsZero() {
		j.Resolved = h.Resolved.UTC()
	}
	return j
}

// previewJSON is the readable text of a held message: header fields
// decoded, the body as plain text only (an HTML-only message gives the
// text of its HTML, never the HTML), attachments named, never served.
type previewJSON struct {
	From        string           `json:"from"`
	To          []string         `json:"to"`
	Cc          []string         `json:"cc"`
	Date        time.Time        `json:"date,omitzero"`
	Subject     string           `json:"subject"`
	Text        string           `json:"text"`
	Truncated   bool             `json:"truncated"`
	HTMLOnly    bool             `json:"html_only"`
	Attachments []attachmentJSON `json:"attachments"`
	Problems    []string         `json:"problems,omitempty"`
}

type attachmentJSON struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

func previewOf(raw []byte) previewJSON {
	d, _ := mimetext.Parse(raw) // never fails
	p := previewJSON{From: d.FromAddr, To: nonNil(d.To), Cc: nonNil(d.Cc), Subject: d.Subject, Text: d.Text,
		HTMLOnly: d.HTML != "", Attachments: []attachmentJSON{}, Problems: d.Problems}
	if d.FromName != "" {
		p.From = d.FromName + " <" + d.FromAddr + ">"
	}
	if !d.Date.IsZero() {
		p.Date = d.Date.UTC()
	}
	if len(p.Text) > maxPreview {
		cut := maxPreview
		for cut > 0 && !utf8.RuneStart(p.Text[cut]) {
			cut--
		}
		p.Text, p.Truncated = p.Text[:cut], true
	}
	for _, at := range d.Attachments {
		p.Attachments = append(p.Attachments, attachmentJSON{Filename: at.Filename, ContentType: at.ContentType, Size: at.Size})
	}
	return p
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// held lists the posts waiting for a moderator, oldest first.
func (a *API) held(w http.ResponseWriter, r *http.Request, acc *access) {
	q := r.URL.Query()
	var after int64
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "after: want the id of the last post of the previous page", "after")
			return
		}
		after = n
	}
	limit := heldPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxHeldPage {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: want 1 to %d", maxHeldPage), "limit")
			return
		}
		limit = n
	}
	posts, err := a.o.Lists.Held(r.Context(), acc.List.Address(), limit+1, after)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	next := ""
	if len(posts) > limit {
		posts = posts[:limit]
		next = strconv.FormatInt(posts[limit-1].ID, 10)
	}
	out := make([]heldJSON, len(posts))
	for i, h := range posts {
		out[i] = heldOf(h)
	}
	writeJSON(w, http.StatusOK, map[string]any{"held": out, "next": next})
}

// heldID reads {id}; a malformed one answers 404 like an unknown one.
func heldID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "no such held post "+strconv.Quote(r.PathValue("id")), "")
		return 0, false
	}
	return id, true
}

// heldOne shows a held post (in any state) with a preview of its message
// while it is still held.
func (a *API) heldOne(w http.ResponseWriter, r *http.Request, acc *access) {
	id, ok := heldID(w, r)
	if !ok {
		return
	}
	h, err := a.o.Lists.GetHeld(r.Context(), acc.List.Address(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := struct {
		heldJSON
		Preview *previewJSON `json:"preview,omitempty"`
	}{heldJSON: heldOf(h)}
	if h.Raw != nil {
		p := previewOf(h.Raw)
		out.Preview = &p
	}
	writeJSON(w, http.StatusOK, out)
}

// decisionIn is the body of a moderation request: one post (ids empty,
// the id in the path) or several.
type decisionIn struct {
	IDs    []int64 `json:"ids"`
	Action string  `json:"action"`
	Reason string  `json:"reason"`
}

// modResult is the outcome for one post: done, not_found, not_held
// (another moderator decided first, or it expired) or failed (the
// delivery or notice could not be queued; the post stays held).
type modResult struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	State  string `json:"state,omitempty"`
	Error  string `json:"error,omitempty"`
}

// moderateOne applies a decision to the post {id}.
func (a *API) moderateOne(w http.ResponseWriter, r *http.Request, acc *access) {
	id, ok := heldID(w, r)
	if !ok {
		return
	}
	var in decisionIn
	if err := decode(w, r, maxBody, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.IDs != nil {
		writeError(w, http.StatusBadRequest, "the post is named by the URL; send ids to POST .../held instead", "ids")
		return
	}
	res, ok := a.moderate(w, r, acc, []int64{id}, in)
	if !ok {
		return
	}
	switch m := res[0]; m.Status {
	case "done":
		writeJSON(w, http.StatusOK, m)
	case "not_found":
		writeJSON(w, http.StatusNotFound, apiError{Error: m.Error})
	case "not_held":
		writeJSON(w, http.StatusConflict, apiError{Error: m.Error})
	default:
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: m.Error})
	}
}

// moderateMany applies one decision to several posts and reports per post.
func (a *API) moderateMany(w http.ResponseWriter, r *http.Request, acc *access) {
	var in decisionIn
	if err := decode(w, r, maxBody, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case len(in.IDs) == 0:
		writeError(w, http.StatusBadRequest, `name the posts: {"ids": [1, 2], "action": "approve"}`, "ids")
		return
	case len(in.IDs) > maxModerate:
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("moderate at most %d posts at once", maxModerate), "ids")
		return
	}
	for _, id := range in.IDs {
		if id <= 0 {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("ids: %d is not a held post id", id), "ids")
			return
		}
	}
	res, ok := a.moderate(w, r, acc, in.IDs, in)
	if !ok {
		return
	}
	counts := map[string]int{}
	for _, m := range res {
		counts[m.Status]++
	}
	writeJSON(w, http.StatusOK, map[string]any{"action": strings.ToLower(strings.TrimSpace(in.Action)), "results": res, "counts": counts})
}

// moderate runs Options.Moderate (the list server: delivery, notices)
// and writes the audit entry the held page writes. ok is false when an
// answer was already written.
func (a *API) moderate(w http.ResponseWriter, r *http.Request, acc *access, ids []int64, in decisionIn) ([]modResult, bool) {
	act, err := lists.ParseModAction(in.Action)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "action: want approve, reject, discard, accept-always or defer", "action")
		return nil, false
	}
	reason, list := strings.TrimSpace(in.Reason), acc.List.Address()
	hrs, err := a.o.Moderate(r.Context(), list, ids, act, reason, acc.Email())
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	out := make([]modResult, len(hrs))
	var done []string
	failed := 0
	for i, hr := range hrs {
		out[i] = modResult{ID: hr.ID, Status: "done"}
		var nf *lists.NotFoundError
		var se *lists.HeldStateError
		switch {
		case hr.Err == nil:
			done = append(done, strconv.FormatInt(hr.ID, 10))
			continue
		case errors.As(hr.Err, &nf):
			out[i].Status, out[i].Error = "not_found", fmt.Sprintf("no such held post %d", hr.ID)
		case errors.As(hr.Err, &se):
			out[i].Status, out[i].State = "not_held", string(se.State)
			out[i].Error = fmt.Sprintf("held post %d is no longer held (%s)", hr.ID, se.State)
		default:
			out[i].Status = "failed"
			out[i].Error = fmt.Sprintf("held post %d could not be moderated just now (delivery failed); it stays held, try again later", hr.ID)
		}
		failed++
		a.log.Warn("listapi: moderation failed", slog.String("list", list), slog.Int64("held_id", hr.ID),
			slog.String("error", hr.Err.Error()))
	}
	a.audit(r.Context(), accounts.Entry{Actor: acc.Email(), Action: "held." + string(act), List: list,
		Target: "held " + targets(done, func(s string) string { return "#" + s }),
		Detail: fmt.Sprintf("%s (%d done, %d failed)", reason, len(done), failed)})
	return out, true
}
