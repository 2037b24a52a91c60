package accountweb

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/web"
)

// createToken makes an API token for the viewer and shows its secret on
// this response only.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, v *web.Viewer) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	token, info, err := h.o.Accounts.CreateAPIToken(r.Context(), v.UserID, name)
	var inv *accounts.InvalidError
	if errors.As(err, &inv) {
		if len(name) > 4*accounts.MaxTokenName {
			name = strings.ToValidUTF8(name[:4*accounts.MaxTokenName], "")
		}
		h.show(w, r, v, http.StatusUnprocessableEntity, pageData{TokenName: name,
			TokenErr: "That name cannot be used: " + inv.Problem + ". No token was made."})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r.Context(), accounts.Entry{Actor: v.Email, Action: "token.create", Target: tokenTarget(info.ID),
		Detail: fmt.Sprintf("API token %q created, client %s", info.Name, h.clientIP(r))})
	// The secret is in this page: no cache may keep it (the middleware
	// already says no-store for logged-in pages; say it here too), and
	// no referrer may carry anything of it.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.show(w, r, v, http.StatusOK, pageData{NewToken: token, NewTokenName: info.Name,
		Notice: "Token made. Copy it now: it is shown this once and cannot be seen again."})
}

// revokeToken revokes one of the viewer's own tokens. Any other id,
// including another user's token, is 404 and changes nothing.
func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, v *web.Viewer) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such token among yours.")
		return
	}
	ctx := r.Context()
	mine, err := h.o.Accounts.APITokens(ctx, v.UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var tok *accounts.APITokenInfo
	for i := range mine {
		if mine[i].ID == id {
			tok = &mine[i]
		}
	}
	if tok == nil {
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such token among yours.")
		return
	}
	if tok.Revoked {
		http.Redirect(w, r, "/account?done=revoked", http.StatusSeeOther)
		return
	}
	// RevokeAPIToken itself checks the owner again.
	err = h.o.Accounts.RevokeAPIToken(ctx, v.UserID, id)
	var nf *accounts.NotFoundError
	switch {
	case errors.As(err, &nf):
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such token among yours.")
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.audit(ctx, accounts.Entry{Actor: v.Email, Action: "token.revoke", Target: tokenTarget(id),
		Detail: fmt.Sprintf("API token %q revoked, client %s", tok.Name, h.clientIP(r))})
	http.Redirect(w, r, "/account?done=revoked", http.StatusSeeOther)
}

// tokenTarget names a token in the audit log.
func tokenTarget(id int64) string { return "api-token:" + strconv.FormatInt(id, 10) }
