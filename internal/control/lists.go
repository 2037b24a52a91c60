package control

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ListOps is what the control API does with the daemon's lists: held posts
// are moderated through the daemon, which sends what the decision makes
// (the post to the members, a notice to the sender) through its queue.
type ListOps interface {
	Held(ctx context.Context, list string) ([]HeldPost, error)
	Moderate(ctx context.Context, list string, id int64, action, reason, moderator string) error
}

// HeldPost is a post waiting for a moderator.
type HeldPost struct {
	ID        int64     `json:"id"`
	MessageID string    `json:"message_id,omitempty"`
	Sender    string    `json:"sender"`
	Subject   string    `json:"subject,omitempty"`
	Rule      string    `json:"rule"`
	Reason    string    `json:"reason,omitempty"`
	Size      int64     `json:"size"`
	Held      time.Time `json:"held"`
	Expires   time.Time `json:"expires,omitzero"`
}

// moderation is the body of POST /v1/lists/{list}/held/{id}/{action}.
type moderation struct {
	Reason    string `json:"reason,omitempty"`
	Moderator string `json:"moderator,omitempty"`
}

func (h *handler) held(w http.ResponseWriter, r *http.Request) {
	posts, err := h.lists.Held(r.Context(), r.PathValue("list"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if posts == nil {
		posts = []HeldPost{}
	}
	writeJSON(w, http.StatusOK, posts)
}

func (h *handler) moderate(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "held post id must be a number")
		return
	}
	var m moderation
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&m); err != nil && err != io.EOF {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	if err := h.lists.Moderate(r.Context(), r.PathValue("list"), id, r.PathValue("action"), m.Reason, m.Moderator); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, okBody{OK: true})
}

// Held lists the posts held on list.
func (c *Client) Held(list string) ([]HeldPost, error) {
	var posts []HeldPost
	err := c.do(http.MethodGet, "/v1/lists/"+url.PathEscape(list)+"/held", &posts)
	return posts, err
}

// Moderate decides on a held post: approve, reject, discard, accept-always
// or defer.
func (c *Client) Moderate(list string, id int64, action, reason, moderator string) error {
	body, _ := json.Marshal(moderation{Reason: reason, Moderator: moderator})
	return c.doBody(http.MethodPost, "/v1/lists/"+url.PathEscape(list)+"/held/"+strconv.FormatInt(id, 10)+"/"+url.PathEscape(action),
		strings.NewReader(string(body)), nil)
}
