package listapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/lists"
)

// settingsPatch is the body of PATCH /api/v1/lists/{list}/settings.
type settingsPatch struct {
	Settings map[string]json.RawMessage `json:"settings"`
	Reason   string                     `json:"reason"`
	// Confirm accepts the warnings of the change (members' posts held,
	// anybody's posts distributed, nobody to deliver to).
	Confirm bool `json:"confirm"`
	// Rev, when set, is the list's rev as last read: the change is
	// refused (409) when the list changed since.
	Rev *int64 `json:"rev"`
	// DryRun validates and reports the changes and warnings, writing
	// nothing (the web UI's preview).
	DryRun bool `json:"dry_run"`
}

// settingsResult answers a settings change (and a refused one, 409).
type settingsResult struct {
	Error    string                     `json:"error,omitempty"`
	Field    string                     `json:"field,omitempty"`
	Changed  bool                       `json:"changed"`
	DryRun   bool                       `json:"dry_run,omitempty"`
	Version  int                        `json:"version,omitempty"`
	Changes  []lists.FieldChange        `json:"changes"`
	Warnings []lists.Warning            `json:"warnings"`
	Settings map[string]json.RawMessage `json:"settings,omitempty"`
}

// invalidSettings answers 422 naming the first wrong field (in name
// order) and listing them all.
type invalidSettings struct {
	Error  string            `json:"error"`
	Field  string            `json:"field"`
	Fields map[string]string `json:"fields"`
}

// patchSettings validates a partial settings change like the settings
// form does, asks for confirmation of the changes the form would ask to
// confirm, and records a new version with the viewer as author.
func (a *API) patchSettings(w http.ResponseWriter, r *http.Request, acc *access) {
	ctx, list := r.Context(), acc.List.Address()
	var p settingsPatch
	if err := decode(w, r, maxBody, &p); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(p.Settings) == 0 {
		writeError(w, http.StatusBadRequest, `name the settings to change: {"settings": {"NAME": VALUE}, "reason": "..."}`, "settings")
		return
	}
	cur := acc.List.Settings
	set, problems := applySettings(cur, p.Settings)
	if len(problems) > 0 {
		names := make([]string, 0, len(problems))
		for n := range problems {
			names = append(names, n)
		}
		slices.Sort(names)
		msg := problems[names[0]]
		if !strings.HasPrefix(msg, names[0]) {
			msg = names[0] + ": " + msg
		}
		writeJSON(w, http.StatusUnprocessableEntity, invalidSettings{Error: msg, Field: names[0], Fields: problems})
		return
	}
	if p.Rev != nil && *p.Rev != acc.List.Rev {
		writeError(w, http.StatusConflict, fmt.Sprintf("the list changed since rev %d (now %d); read it again", *p.Rev, acc.List.Rev), "rev")
		return
	}
	changes := lists.Diff(cur, set)
	res := settingsResult{Changes: changes, Warnings: []lists.Warning{}, DryRun: p.DryRun}
	if len(changes) == 0 {
		res.Changes = []lists.FieldChange{}
		res.Settings = settingsJSON(cur)
		writeJSON(w, http.StatusOK, res)
		return
	}
	warns, err := a.o.Lists.CheckSettings(ctx, list, set)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if warns != nil {
		res.Warnings = warns
	}
	if p.DryRun {
		writeJSON(w, http.StatusOK, res)
		return
	}
	p.Reason = strings.TrimSpace(p.Reason)
	if p.Reason == "" {
		writeError(w, http.StatusUnprocessableEntity, "say why you change the settings; the reason is kept in the history", "reason")
		return
	}
	if len(warns) > 0 && !p.Confirm {
		a.needsConfirmation(w, res)
		return
	}
	v, warns, err := a.o.Lists.ChangeSettings(ctx, list, set, lists.Change{Author: acc.Email(), Reason: p.Reason, Confirm: p.Confirm})
	var nc *lists.NeedsConfirmation
	if errors.As(err, &nc) {
		// The consequences changed since CheckSettings (a member left).
		res.Warnings = nc.Warnings
		a.needsConfirmation(w, res)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if warns != nil {
		res.Warnings = warns
	}
	a.audit(ctx, accounts.Entry{Actor: acc.Email(), Action: "settings.change", List: list,
		Target: fmt.Sprintf("version %d", v.Number), Detail: p.Reason + " (" + changeSummary(changes) + ")"})
	res.Changed, res.Version, res.Settings = true, v.Number, settingsJSON(v.Settings)
	writeJSON(w, http.StatusOK, res)
}

func (a *API) needsConfirmation(w http.ResponseWriter, res settingsResult) {
	msgs := make([]string, len(res.Warnings))
	for i, wn := range res.Warnings {
		msgs[i] = wn.Message
	}
	res.Error = "this change needs confirmation (send \"confirm\": true): " + strings.Join(msgs, "; ")
	res.Field = "confirm"
	writeJSON(w, http.StatusConflict, res)
}

// changeSummary is "field: old → new" for each change, values shortened,
// for the audit log (the whole versions are in the settings history).
func changeSummary(changes []lists.FieldChange) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.Field + ": " + shorten(c.Old) + " → " + shorten(c.New)
	}
	return strings.Join(parts, "; ")
}

func shorten(s string) string {
	const limit = 80
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit-1]) + "…"
}

// jsonKind is the JSON type of a setting's value: boolean, string,
// number or array.
func jsonKind(js string) string {
	switch {
	case js == "true" || js == "false":
		return "boolean"
	case strings.HasPrefix(js, `"`):
		return "string"
	case strings.HasPrefix(js, "["):
		return "array"
	}
	return "number"
}

// settingInput turns a JSON value into the text lists.SetField parses,
// checking that its type is want ("" when the setting is unknown).
func settingInput(raw json.RawMessage, want string) (string, error) {
	raw = bytes.TrimSpace(raw)
	got := "null"
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '{':
		got = "object"
	default:
		got = jsonKind(string(raw))
	}
	if got == "null" || got == "object" || want != "" && got != want {
		if want == "" {
			want = "boolean, string, number or array"
		}
		return "", fmt.Errorf("want a JSON %s, not %s", want, got)
	}
	if got == "string" {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("not a JSON string: %v", err)
		}
		return s, nil
	}
	return string(raw), nil
}

// applySettings sets each named setting on cur, as the settings form
// does: values are parsed and validated by lists.SetField, and settings
// that fail are retried until no more succeed, so that a pair valid only
// together (reply_to explicit and reply_to_address) is accepted in any
// order. problems maps each setting that is still wrong to why.
func applySettings(cur lists.Settings, in map[string]json.RawMessage) (lists.Settings, map[string]string) {
	kinds := map[string]string{}
	for _, sv := range lists.SettingValues(cur) {
		kinds[sv.Field] = jsonKind(sv.Value)
	}
	kinds["archive"], kinds["archive_private"] = "boolean", "boolean"
	problems := map[string]string{}
	pending := map[string]string{}
	for name, raw := range in {
		v, err := settingInput(raw, kinds[name])
		if err != nil {
			problems[name] = err.Error()
			continue
		}
		pending[name] = v
	}
	names := make([]string, 0, len(pending))
	for n := range pending {
		names = append(names, n)
	}
	slices.Sort(names)
	set := cur
	for range len(names) + 1 {
		progress := false
		for _, name := range names {
			v, ok := pending[name]
			if !ok {
				continue
			}
			next, err := lists.SetField(set, name, v)
			if err != nil {
				problems[name] = fieldError(err)
				continue
			}
			set, progress = next, true
			delete(problems, name)
			delete(pending, name)
		}
		if !progress || len(pending) == 0 {
			break
		}
	}
	return set, problems
}

// fieldError is the text of a SetField error.
func fieldError(err error) string {
	var inv *lists.InvalidError
	var se *lists.SettingsError
	switch {
	case errors.As(err, &inv):
		return inv.Problem
	case errors.As(err, &se):
		return strings.Join(se.Problems, "; ")
	}
	return err.Error()
}
