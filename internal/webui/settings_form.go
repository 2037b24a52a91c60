package webui

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// field is one setting as a form input.
type field struct {
	Name    string
	Label   string
	Help    string
	Kind    string // bool, enum, number, text, list (one item per line), json
	Value   string // as shown in the input
	Options []string
	Error   string
}

// enums are the settings whose values come from a fixed set.
func enums() map[string][]string {
	actions := []string{"accept", "hold", "reject", "discard", "defer"}
	return map[string][]string{
		"subscription_policy":      {"open", "confirm", "moderate", "confirm-then-moderate"},
		"default_member_action":    actions,
		"default_nonmember_action": actions,
		"reply_to":                 {"poster", "list", "explicit"},
	}
}

// helps are short explanations shown under some inputs.
func helps() map[string]string {
	return map[string]string{
		"default_member_action":        "What happens to a member's post. Anything but accept holds or drops members' posts.",
		"default_nonmember_action":     "What happens to a post from somebody who is not a member.",
		"emergency_moderation":         "Hold every post, members' included.",
		"max_message_size":             "Bytes; 0 means no limit.",
		"max_recipients":               "To and Cc addresses; 0 means no limit.",
		"acceptable_aliases":           "One per line: an address, or a regular expression starting with ^.",
		"banned_addresses":             "One per line: an address, or a regular expression starting with ^.",
		"header_matches":               `A JSON array, e.g. [{"header":"X-Spam","pattern":"yes","action":"hold"}].`,
		"suspicious_headers":           `A JSON array, e.g. [{"header":"X-Spam","pattern":"yes"}].`,
		"reply_to_address":             "Used when Reply-To is explicit.",
		"confirm_days":                 "Days a subscription confirmation stays valid.",
		"require_explicit_destination": "Hold posts that do not name the list (or an acceptable alias) in To or Cc.",
	}
}

// fieldKind guesses the input kind of a setting from its JSON value.
func fieldKind(name, js string) string {
	if _, ok := enums()[name]; ok {
		return "enum"
	}
	switch {
	case js == "true" || js == "false":
		return "bool"
	case strings.HasPrefix(js, `"`):
		return "text"
	case strings.HasPrefix(js, "[{"), name == "header_matches", name == "suspicious_headers":
		return "json"
	case strings.HasPrefix(js, "["):
		return "list"
	}
	return "number"
}

// display turns a JSON value into what its input shows.
func display(kind, js string) string {
	switch kind {
	case "enum", "text":
		var s string
		if json.Unmarshal([]byte(js), &s) == nil {
			return s
		}
	case "list":
		var items []string
		if json.Unmarshal([]byte(js), &items) == nil {
			return strings.Join(items, "\n")
		}
	case "json":
		if js == "[]" {
			return ""
		}
	}
	return js
}

// parseInput turns what an input sent into a value for lists.SetField.
func parseInput(kind, v string) string {
	switch kind {
	case "list":
		if strings.HasPrefix(strings.TrimSpace(v), "[") {
			return v // carried from a preview as JSON
		}
		items := []string{}
		for line := range strings.SplitSeq(v, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				items = append(items, line)
			}
		}
		b, _ := json.Marshal(items)
		return string(b)
	case "json":
		if strings.TrimSpace(v) == "" {
			return "[]"
		}
	}
	return v
}

func label(name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// fields returns set as form inputs.
func fields(set lists.Settings) []field {
	en, hs := enums(), helps()
	var out []field
	for _, sv := range lists.SettingValues(set) {
		k := fieldKind(sv.Field, sv.Value)
		out = append(out, field{Name: sv.Field, Label: label(sv.Field), Help: hs[sv.Field], Kind: k,
			Value: display(k, sv.Value), Options: en[sv.Field]})
	}
	return out
}

// applyForm sets every setting named in form on cur. It returns the new
// settings and the inputs (with the submitted values and their errors);
// ok is false when any input is wrong. Fields are retried until no more
// succeed, so that a pair that is only valid together (reply_to explicit
// and its address) is accepted whatever the order.
func applyForm(cur lists.Settings, form url.Values) (lists.Settings, []field, bool) {
	fs := fields(cur)
	pending := map[int]string{}
	for i := range fs {
		if vals, ok := form[fs[i].Name]; ok && len(vals) > 0 {
			fs[i].Value = strings.ReplaceAll(vals[0], "\r\n", "\n")
			if fs[i].Kind == "bool" && fs[i].Value != "true" && fs[i].Value != "false" {
				fs[i].Error = "Choose yes or no."
				continue
			}
			pending[i] = parseInput(fs[i].Kind, fs[i].Value)
			if fs[i].Kind == "list" {
				fs[i].Value = display("list", pending[i])
			}
		}
	}
	set := cur
	for range len(fs) + 1 {
		progress := false
		for i, v := range pending {
			next, err := lists.SetField(set, fs[i].Name, v)
			if err != nil {
				fs[i].Error = fieldError(err)
				continue
			}
			set, progress = next, true
			fs[i].Error = ""
			delete(pending, i)
		}
		if !progress || len(pending) == 0 {
			break
		}
	}
	ok := true
	for _, f := range fs {
		if f.Error != "" {
			ok = false
		}
	}
	return set, fs, ok
}

func fieldError(err error) string {
	var inv *lists.InvalidError
	var se *lists.SettingsError
	switch {
	case errors.As(err, &inv):
		return "Not valid: " + inv.Problem + "."
	case errors.As(err, &se):
		return strings.Join(se.Problems, "; ")
	}
	return err.Error()
}

// carried returns the inputs as hidden fields for the apply step, in the
// form SetField reads (lists as JSON arrays, which survive a hidden input
// whatever the browser does with newlines).
func carried(fs []field) []field {
	out := make([]field, len(fs))
	for i, f := range fs {
		f.Value = parseInput(f.Kind, f.Value)
		out[i] = f
	}
	return out
}
