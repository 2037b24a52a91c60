package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// versionView is one settings version with its changes from the one before.
type versionView struct {
	lists.Version
	Changes []lists.FieldChange
	Current bool
}

type historyData struct {
	A        *access
	Versions []versionView // newest first
	Notice   string
}

func (u *UI) history(w http.ResponseWriter, r *http.Request, a *access) {
	vs, err := u.o.Lists.History(r.Context(), a.List.Address())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := historyData{A: a}
	for i, v := range vs {
		vv := versionView{Version: v, Current: i == len(vs)-1}
		if i > 0 {
			vv.Changes = lists.Diff(vs[i-1].Settings, v.Settings)
		}
		d.Versions = append(d.Versions, vv)
	}
	slices.Reverse(d.Versions)
	switch r.URL.Query().Get("done") {
	case "saved":
		d.Notice = "The settings were changed."
	case "restored":
		d.Notice = "The old version was restored as a new version."
	}
	u.render(w, r, http.StatusOK, "Settings history", nav(a, "History"), "history", d)
}

// restoreData is the confirmation page of a restore with warnings.
type restoreData struct {
	A        *access
	Version  int
	Changes  []lists.FieldChange
	Warnings []lists.Warning
	Reason   string
	Problem  string
}

// restore makes an old version current, as a new version.
func (u *UI) restore(w http.ResponseWriter, r *http.Request, a *access) {
	ctx, list := r.Context(), a.List.Address()
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		u.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such version.")
		return
	}
	old, err := u.o.Lists.GetVersion(ctx, list, n)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := restoreData{A: a, Version: n, Changes: lists.Diff(a.List.Settings, old.Settings),
		Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if d.Reason == "" {
		d.Problem = "Say why you restore this version; the reason is kept in the history."
		u.render(w, r, http.StatusUnprocessableEntity, "Restore version "+strconv.Itoa(n), nav(a, "History"), "restore", d)
		return
	}
	v, _, err := u.o.Lists.Restore(ctx, list, n, lists.Change{Author: a.Email(), Reason: d.Reason,
		Confirm: r.PostFormValue("ack") == "yes"})
	var nc *lists.NeedsConfirmation
	if errors.As(err, &nc) {
		d.Warnings = nc.Warnings
		u.render(w, r, http.StatusOK, "Restore version "+strconv.Itoa(n), nav(a, "History"), "restore", d)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(ctx, AuditEntry{Actor: a.Email(), Action: "settings.restore", List: list,
		Target: fmt.Sprintf("version %d", n), Detail: fmt.Sprintf("%s (now version %d)", d.Reason, v.Number)})
	redirect(w, r, listPath(list, "history"), url.Values{"done": {"restored"}})
}
