package lists

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// FieldChange is one setting that differs between two Settings. Field is
// the JSON name; Old and New are JSON values ("[]" for an empty list).
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// settingField is one JSON field of Settings.
type settingField struct {
	name  string
	index int
	kind  reflect.Kind
	elem  reflect.Kind // for slices
}

// settingFields returns the fields of Settings in declaration order.
func settingFields() []settingField {
	t := reflect.TypeFor[Settings]()
	out := make([]settingField, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		sf := settingField{name: name, index: i, kind: f.Type.Kind()}
		if sf.kind == reflect.Slice {
			sf.elem = f.Type.Elem().Kind()
		}
		out = append(out, sf)
	}
	return out
}

// SettingNames returns the JSON names of the settings, in declaration order.
func SettingNames() []string {
	fs := settingFields()
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

func fieldJSON(v reflect.Value, f settingField) string {
	fv := v.Field(f.index)
	if f.kind == reflect.Slice && fv.Len() == 0 {
		return "[]"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fv.Interface()); err != nil {
		return "?"
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// SettingValue is one setting with its JSON name and JSON value.
type SettingValue struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// SettingValues returns every setting of s in declaration order, except
// the format version.
func SettingValues(s Settings) []SettingValue {
	v := reflect.ValueOf(s)
	var out []SettingValue
	for _, f := range settingFields() {
		if f.name != "version" {
			out = append(out, SettingValue{Field: f.name, Value: fieldJSON(v, f)})
		}
	}
	return out
}

// Diff returns the settings that differ from a to b, in declaration order.
// An empty and a missing list are the same.
func Diff(a, b Settings) []FieldChange {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []FieldChange
	for _, f := range settingFields() {
		o, n := fieldJSON(va, f), fieldJSON(vb, f)
		if o != n {
			out = append(out, FieldChange{Field: f.name, Old: o, New: n})
		}
	}
	return out
}

// SetField returns set with the setting named key (its JSON name) parsed
// from value and the result validated: strings as is, booleans as
// true/false/yes/no/on/off/1/0, numbers in decimal, lists of addresses as a
// JSON array or comma-separated, header rules as a JSON array. "version"
// cannot be set. The former keys archive and archive_private (booleans)
// are accepted and change archive_policy: archive=false is none,
// archive=true makes none public, archive_private=true is private,
// archive_private=false makes private public.
func SetField(set Settings, key, value string) (Settings, error) {
	orig := set
	key = strings.ToLower(strings.TrimSpace(key))
	if key == "archive" || key == "archive_private" {
		return setOldArchiveKey(set, key, value)
	}
	var field *settingField
	for _, f := range settingFields() {
		if f.name == key {
			field = &f
			break
		}
	}
	if field == nil || key == "version" {
		names := SettingNames()
		names = names[1:] // version
		sort.Strings(names)
		return set, &InvalidError{Field: "setting", Value: key, Problem: "unknown; known settings: " + strings.Join(names, ", ")}
	}
	bad := func(want string) (Settings, error) {
		return orig, &InvalidError{Field: key, Value: value, Problem: "want " + want}
	}
	fv := reflect.ValueOf(&set).Elem().Field(field.index)
	switch field.kind {
	case reflect.String:
		fv.SetString(value)
	case reflect.Bool:
		b, ok := parseBool(value)
		if !ok {
			return bad("true or false")
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return bad("a whole number")
		}
		fv.SetInt(n)
	case reflect.Slice:
		v := strings.TrimSpace(value)
		ptr := reflect.New(fv.Type())
		switch {
		case strings.HasPrefix(v, "["):
			dec := json.NewDecoder(strings.NewReader(v))
			dec.DisallowUnknownFields()
			if err := dec.Decode(ptr.Interface()); err != nil {
				return bad("a JSON array: " + err.Error())
			}
		case field.elem == reflect.String:
			var items []string
			for it := range strings.SplitSeq(v, ",") {
				if it = strings.TrimSpace(it); it != "" {
					items = append(items, it)
				}
			}
			ptr.Elem().Set(reflect.ValueOf(items))
		default:
			return bad(`a JSON array such as [{"header":"X-Spam","pattern":"yes","action":"hold"}]`)
		}
		fv.Set(ptr.Elem())
	default:
		return bad("a value this program cannot parse")
	}
	if err := set.Validate(); err != nil {
		return orig, err
	}
	set.mirrorArchive()
	return set, nil
}

// setOldArchiveKey is SetField for the keys archive and archive_private.
func setOldArchiveKey(set Settings, key, value string) (Settings, error) {
	b, ok := parseBool(value)
	if !ok {
		return set, &InvalidError{Field: key, Value: value, Problem: "want true or false"}
	}
	p := set.ArchivePolicy
	switch {
	case key == "archive" && !b:
		p = ArchivePolicyNone
	case key == "archive" && p == ArchivePolicyNone:
		p = ArchivePolicyPublic
	case key == "archive_private" && b:
		p = ArchivePolicyPrivate
	case key == "archive_private" && p == ArchivePolicyPrivate:
		p = ArchivePolicyPublic
	}
	return SetField(set, "archive_policy", string(p))
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}
