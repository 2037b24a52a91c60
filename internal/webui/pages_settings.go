package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// settingsData is the settings form and its preview.
type settingsData struct {
	A       *access
	Fields  []field
	Notice  string
	Problem string
	// Preview only:
	Changes     []lists.FieldChange
	Warnings    []lists.Warning
	Hidden      []field // the submitted values, carried to the apply step
	Rev         int64
	Reason      string
	ReasonError string
	AckError    string
}

func (u *UI) settingsForm(w http.ResponseWriter, r *http.Request, a *access) {
	d := settingsData{A: a, Fields: fields(a.List.Settings)}
	if r.URL.Query().Get("done") == "unchanged" {
		d.Notice = "Nothing changed: the form had the current settings."
	}
	u.render(w, r, http.StatusOK, "Settings", nav(a, "Settings"), "settings", d)
}

// settingsPost validates the form; the first step shows a preview, the
// apply step (from the preview) writes a new version.
func (u *UI) settingsPost(w http.ResponseWriter, r *http.Request, a *access) {
	ctx, list := r.Context(), a.List.Address()
	if err := r.ParseForm(); err != nil {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	set, fs, ok := applyForm(a.List.Settings, r.PostForm)
	if !ok {
		d := settingsData{A: a, Fields: fs, Problem: "Some settings are not valid; see the messages next to them."}
		u.render(w, r, http.StatusUnprocessableEntity, "Settings", nav(a, "Settings"), "settings", d)
		return
	}
	changes := lists.Diff(a.List.Settings, set)
	if len(changes) == 0 {
		redirect(w, r, listPath(list, "settings"), url.Values{"done": {"unchanged"}})
		return
	}
	warns, err := u.o.Lists.CheckSettings(ctx, list, set)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := settingsData{A: a, Fields: fs, Changes: changes, Warnings: warns, Hidden: carried(fs), Rev: a.List.Rev,
		Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if r.PostFormValue("step") != "apply" {
		u.preview(w, r, http.StatusOK, d)
		return
	}
	if rev, _ := strconv.ParseInt(r.PostFormValue("rev"), 10, 64); rev != a.List.Rev {
		d.Problem = "The settings were changed by somebody else since the preview. Check the changes again."
		u.preview(w, r, http.StatusConflict, d)
		return
	}
	ack := r.PostFormValue("ack") == "yes"
	if d.Reason == "" {
		d.ReasonError = "Say why you change the settings; the reason is kept in the history."
	}
	if len(warns) > 0 && !ack {
		d.AckError = "Tick the box to confirm that you accept these consequences."
	}
	if d.ReasonError != "" || d.AckError != "" {
		u.preview(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	v, _, err := u.o.Lists.ChangeSettings(ctx, list, set, lists.Change{Author: a.Email(), Reason: d.Reason, Confirm: ack})
	var nc *lists.NeedsConfirmation
	if errors.As(err, &nc) {
		d.Warnings = nc.Warnings
		d.AckError = "The consequences changed since the preview; check them and confirm again."
		u.preview(w, r, http.StatusConflict, d)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	names := make([]string, len(changes))
	for i, c := range changes {
		names[i] = c.Field
	}
	u.audit(ctx, AuditEntry{Actor: a.Email(), Action: "settings.change", List: list,
		Target: fmt.Sprintf("version %d", v.Number), Detail: d.Reason + " (" + strings.Join(names, ", ") + ")"})
	redirect(w, r, listPath(list, "history"), url.Values{"done": {"saved"}})
}

func (u *UI) preview(w http.ResponseWriter, r *http.Request, status int, d settingsData) {
	u.render(w, r, status, "Check the settings change", nav(d.A, "Settings"), "preview", d)
}
