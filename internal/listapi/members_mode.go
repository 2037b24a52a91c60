package listapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/lists"
)

// memberPatch is the body of PATCH members/ADDRESS: the fields to change,
// absent (or null) ones unchanged.
type memberPatch struct {
	Mode         *string `json:"mode"`
	DigestFormat *string `json:"digest_format"`
}

// read validates p: at least one field, each a known value.
func (p memberPatch) read() (lists.DeliveryMode, lists.DigestFormat, error) {
	var mode lists.DeliveryMode
	var format lists.DigestFormat
	if p.Mode == nil && p.DigestFormat == nil {
		return "", "", &badRequest{Status: http.StatusBadRequest,
			Msg: `name what to change: {"mode": "regular" or "digest", "digest_format": "mime" or "plain"}`}
	}
	if p.Mode != nil {
		mode = lists.DeliveryMode(strings.ToLower(strings.TrimSpace(*p.Mode)))
		if !mode.Valid() {
			return "", "", &badRequest{Status: http.StatusBadRequest, Field: "mode",
				Msg: "mode " + strconv.Quote(*p.Mode) + ": want regular or digest"}
		}
	}
	if p.DigestFormat != nil {
		f, err := lists.ParseDigestFormat(*p.DigestFormat)
		if err != nil {
			return "", "", &badRequest{Status: http.StatusBadRequest, Field: "digest_format",
				Msg: "digest_format " + strconv.Quote(*p.DigestFormat) + ": want mime or plain"}
		}
		format = f
	}
	return mode, format, nil
}

// patchMember changes the delivery mode and/or digest format of one member
// row (only the member role has them), as the members page's form does,
// and answers the row as it is now.
func (a *API) patchMember(w http.ResponseWriter, r *http.Request, acc *access) {
	ctx, list, addr := r.Context(), acc.List.Address(), r.PathValue("address")
	if _, _, err := lists.NormalizeAddress(addr); err != nil {
		writeError(w, http.StatusBadRequest, "address "+strconv.Quote(addr)+": not an email address", "address")
		return
	}
	var p memberPatch
	if err := decode(w, r, maxBody, &p); err != nil {
		a.fail(w, r, err)
		return
	}
	mode, format, err := p.read()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if mode == lists.ModeDigest && !acc.List.Settings.DigestEnabled {
		writeError(w, http.StatusConflict, list+" does not send digests (its digest_enabled setting is false)", "mode")
		return
	}
	old, err := a.o.Lists.GetMember(ctx, list, addr, lists.RoleMember)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var changes []string
	// The format first: it changes nothing a member gets in regular mode,
	// so a failure between the two writes leaves the mode as it was.
	if format != "" {
		if err := a.o.Lists.SetDigestFormat(ctx, list, old.Address, format); err != nil {
			a.fail(w, r, err)
			return
		}
		changes = append(changes, "digest format "+string(old.DigestFormat)+" → "+string(format))
	}
	if mode != "" {
		if err := a.o.Lists.SetDeliveryMode(ctx, list, old.Address, mode); err != nil {
			a.fail(w, r, err)
			return
		}
		changes = append([]string{"mode " + string(old.Mode) + " → " + string(mode)}, changes...)
	}
	a.audit(ctx, accounts.Entry{Actor: acc.Email(), Action: "members.mode", List: list, Target: old.Address,
		Detail: strings.Join(changes, ", ")})
	m, err := a.o.Lists.GetMember(ctx, list, old.Address, lists.RoleMember)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, memberOf(m))
}
