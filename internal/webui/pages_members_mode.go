package webui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// memberModeForm reads the owners' per-member delivery form: the member's
// address, the delivery mode (regular or digest) and the digest format
// (mime or plain). Both values are required; problem says what is wrong
// with them in words for the owner.
func memberModeForm(r *http.Request) (addr string, mode lists.DeliveryMode, format lists.DigestFormat, problem string) {
	addr = strings.TrimSpace(r.PostFormValue("address"))
	if addr == "" {
		return "", "", "", "Name the member whose delivery mode is to change."
	}
	m := r.PostFormValue("mode")
	mode = lists.DeliveryMode(strings.ToLower(strings.TrimSpace(m)))
	if !mode.Valid() {
		return addr, "", "", "Delivery mode " + strconv.Quote(m) + " is unknown: choose regular or digest. Nothing was changed."
	}
	f := r.PostFormValue("format")
	format, err := lists.ParseDigestFormat(f)
	if err != nil {
		return addr, "", "", "Digest format " + strconv.Quote(f) + " is unknown: choose mime or plain. Nothing was changed."
	}
	return addr, mode, format, ""
}

// membersMode sets one member's delivery mode and digest format, as the
// member may on the overview page. Only member rows have them.
func (u *UI) membersMode(w http.ResponseWriter, r *http.Request, a *access) {
	ctx, list := r.Context(), a.List.Address()
	addr, mode, format, problem := memberModeForm(r)
	if problem != "" {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, problem)
		return
	}
	if mode == lists.ModeDigest && !a.List.Settings.DigestEnabled {
		u.o.Renderer.Error(w, r, http.StatusBadRequest,
			"This list does not send digests (digest_enabled is off in its settings). Nothing was changed.")
		return
	}
	m, err := u.o.Lists.GetMember(ctx, list, addr, lists.RoleMember)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	// The format first: it changes nothing a member gets in regular mode,
	// so a failure between the two writes leaves the mode as it was.
	if err := u.o.Lists.SetDigestFormat(ctx, list, m.Address, format); err != nil {
		u.fail(w, r, err)
		return
	}
	if err := u.o.Lists.SetDeliveryMode(ctx, list, m.Address, mode); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(ctx, AuditEntry{Actor: a.Email(), Action: "members.mode", List: list, Target: m.Address,
		Detail: "mode " + string(m.Mode) + " → " + string(mode) + ", digest format " + string(m.DigestFormat) + " → " + string(format)})
	redirect(w, r, listPath(list, "members"), url.Values{"done": {"mode"}, "q": {m.Address}})
}
