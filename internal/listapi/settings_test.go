package listapi

import (
	"net/http"
	"strings"
	"testing"
)

func TestSettingsValidationNamesField(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name     string
		settings map[string]any
		field    string
		says     string
	}{
		{"negative size", map[string]any{"max_message_size": -5}, "max_message_size", "must be >= 0"},
		{"fraction", map[string]any{"max_recipients": 2.5}, "max_recipients", "whole number"},
		{"string for boolean", map[string]any{"emergency_moderation": "yes"}, "emergency_moderation", "want a JSON boolean"},
		{"null", map[string]any{"subject_prefix": nil}, "subject_prefix", "not null"},
		{"bad enum", map[string]any{"default_member_action": "bounce"}, "default_member_action", "want accept, hold"},
		{"unknown setting", map[string]any{"colour": "blue"}, "colour", "unknown"},
		{"version", map[string]any{"version": 2}, "version", "unknown"},
		{"bad regexp", map[string]any{"banned_addresses": []string{"^(("}}, "banned_addresses", "banned_addresses[0]"},
		{"explicit without address", map[string]any{"reply_to": "explicit"}, "reply_to", "reply_to_address"},
		// The first wrong field by name is the one named.
		{"two wrong", map[string]any{"max_recipients": -1, "confirm_days": 0}, "confirm_days", "confirm_days"},
	} {
		res := f.call(t, owner, "PATCH", lp("settings"), map[string]any{"settings": tc.settings, "reason": "test"})
		var got invalidSettings
		res.decodeInto(t, &got)
		if res.Status != http.StatusUnprocessableEntity || got.Field != tc.field || !strings.Contains(got.Error, tc.says) {
			t.Errorf("%s: status %d, field %q, error %q; want 422, %q, %q", tc.name, res.Status, got.Field, got.Error, tc.field, tc.says)
		}
		if got.Fields[tc.field] == "" {
			t.Errorf("%s: fields %v", tc.name, got.Fields)
		}
	}
	if v := f.history(t); len(v) != 1 {
		t.Errorf("%d versions after refused changes, want 1", len(v))
	}

	// Input problems that are not about a setting.
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no settings", map[string]any{"reason": "x"}, http.StatusBadRequest, "settings"},
		{"unknown key", map[string]any{"settings": map[string]any{"advertised": false}, "reason": "x", "force": true}, http.StatusBadRequest, ""},
		{"settings not an object", map[string]any{"settings": []string{"x"}, "reason": "x"}, http.StatusBadRequest, "settings"},
		{"no reason", map[string]any{"settings": map[string]any{"advertised": false}}, http.StatusUnprocessableEntity, "reason"},
	} {
		res := f.call(t, owner, "PATCH", lp("settings"), tc.body)
		if res.Status != tc.status || res.JSON(t)["field"] != nilIfEmpty(tc.field) {
			t.Errorf("%s: %d %s, want %d field %q", tc.name, res.Status, res.Body, tc.status, tc.field)
		}
	}
	req, _ := http.NewRequest("PATCH", f.srv.URL+lp("settings"), strings.NewReader("advertised=false"))
	req.Header.Set("Authorization", "Bearer "+f.tokens[owner])
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res := f.send(t, req); res.Status != http.StatusUnsupportedMediaType {
		t.Errorf("form body: status %d, want 415", res.Status)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestSettingsChangeRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A pair valid only together, in one request; a list as a JSON array.
	res := f.call(t, owner, "PATCH", lp("settings"), map[string]any{"reason": "replies to the team",
		"settings": map[string]any{"reply_to_address": "team@example.org", "reply_to": "explicit",
			"banned_addresses": []string{"spammer@example.net"}, "max_recipients": 20}})
	var got settingsResult
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || !got.Changed || got.Version != 2 || len(got.Changes) != 4 {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	if string(got.Settings["reply_to"]) != `"explicit"` || string(got.Settings["max_recipients"]) != "20" {
		t.Errorf("settings after: %v", got.Settings)
	}
	vs := f.history(t)
	if last := vs[len(vs)-1]; last.Author != emailOf(owner) || last.Reason != "replies to the team" ||
		last.Settings.ReplyToAddress != "team@example.org" || len(last.Settings.BannedAddresses) != 1 {
		t.Errorf("version %+v", last)
	}
	a := f.lastAudit(t, testList)
	if a.Actor != emailOf(owner) || a.Action != "settings.change" || a.Target != "version 2" ||
		!strings.Contains(a.Detail, "replies to the team") || !strings.Contains(a.Detail, `max_recipients: 10 → 20`) {
		t.Errorf("audit %+v", a)
	}

	// The same again changes nothing and writes nothing.
	res = f.call(t, owner, "PATCH", lp("settings"), map[string]any{"reason": "again", "settings": map[string]any{"max_recipients": 20}})
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || got.Changed || len(got.Changes) != 0 || len(f.history(t)) != 2 {
		t.Errorf("unchanged: %d %s", res.Status, res.Body)
	}
	if n := len(f.audits(t, testList)); n != 1 {
		t.Errorf("%d audit entries, want 1", n)
	}
}

func TestSettingsDangerousNeedsConfirm(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := map[string]any{"reason": "spam wave", "settings": map[string]any{"default_member_action": "hold"}}

	// A dry run previews the change and its warnings.
	dry := map[string]any{"dry_run": true, "settings": body["settings"]}
	var got settingsResult
	res := f.call(t, owner, "PATCH", lp("settings"), dry)
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || got.Changed || len(got.Warnings) == 0 || len(got.Changes) != 1 {
		t.Errorf("dry run: %d %s", res.Status, res.Body)
	}

	res = f.call(t, owner, "PATCH", lp("settings"), body)
	res.decodeInto(t, &got)
	if res.Status != http.StatusConflict || got.Field != "confirm" || got.Changed || len(got.Warnings) == 0 {
		t.Fatalf("unconfirmed: %d %s", res.Status, res.Body)
	}
	if got.Warnings[0].Kind != "member-post" || !strings.Contains(got.Error, "confirm") {
		t.Errorf("warnings %+v, error %q", got.Warnings, got.Error)
	}
	if l, _ := f.st.GetList(t.Context(), testList); l.Settings.DefaultMemberAction != "accept" || len(f.history(t)) != 1 {
		t.Errorf("the unconfirmed change was written: %s", l.Settings.DefaultMemberAction)
	}
	if n := len(f.audits(t, testList)); n != 0 {
		t.Errorf("%d audit entries for a refused change", n)
	}

	body["confirm"] = true
	res = f.call(t, owner, "PATCH", lp("settings"), body)
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || !got.Changed || len(got.Warnings) == 0 {
		t.Fatalf("confirmed: %d %s", res.Status, res.Body)
	}
	vs := f.history(t)
	if last := vs[len(vs)-1]; last.Author != emailOf(owner) || last.Reason != "spam wave" || last.Settings.DefaultMemberAction != "hold" {
		t.Errorf("history %+v", last)
	}
	if a := f.lastAudit(t, testList); a.Action != "settings.change" || !strings.Contains(a.Detail, `default_member_action: "accept" → "hold"`) {
		t.Errorf("audit %+v", a)
	}
}

func TestSettingsStaleRev(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var info listInfo
	f.call(t, admin, "GET", lp(""), nil).decodeInto(t, &info)
	res := f.call(t, admin, "PATCH", lp("settings"), map[string]any{"reason": "one", "rev": info.Rev,
		"settings": map[string]any{"subject_prefix": "[wt] "}})
	if res.Status != http.StatusOK {
		t.Fatalf("first change: %d %s", res.Status, res.Body)
	}
	res = f.call(t, admin, "PATCH", lp("settings"), map[string]any{"reason": "two", "rev": info.Rev,
		"settings": map[string]any{"subject_prefix": "[tech] "}})
	if res.Status != http.StatusConflict || res.JSON(t)["field"] != "rev" {
		t.Errorf("stale rev: %d %s", res.Status, res.Body)
	}
	if vs := f.history(t); len(vs) != 2 || vs[1].Author != emailOf(admin) {
		t.Errorf("history %+v", vs)
	}
}
