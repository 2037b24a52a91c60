package lists

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestHistoryVersionsEveryChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	l := f.newList(t, nil)

	vs, err := f.s.History(ctx, testList)
	if err != nil || len(vs) != 1 || vs[0].Number != 1 || vs[0].Reason != reasonCreated || !reflect.DeepEqual(vs[0].Settings, l.Settings) {
		t.Fatalf("after create: %+v %v", vs, err)
	}

	f.clock.Advance(time.Hour)
	set := l.Settings
	set.SubjectPrefix = "[wt] "
	v, warns, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "rob", Reason: "shorter prefix"})
	if err != nil || len(warns) != 0 || v.Number != 2 || v.Author != "rob" || v.Reason != "shorter prefix" || !v.Time.Equal(f.clock.Now()) {
		t.Fatalf("change: %+v %v %v", v, warns, err)
	}
	// An identical change records nothing.
	v2, _, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "rob", Reason: "again"})
	if err != nil || v2.Number != 2 {
		t.Fatalf("no-op change: %+v %v", v2, err)
	}
	// Unattributed writes are versioned too.
	set.MaxRecipients = 20
	if err := f.s.SetSettings(ctx, testList, set); err != nil {
		t.Fatal(err)
	}
	if err := f.s.UpdateList(ctx, testList, "WT", "tech", set); err != nil { // settings unchanged
		t.Fatal(err)
	}
	vs, err = f.s.History(ctx, testList)
	if err != nil || len(vs) != 3 {
		t.Fatalf("history: %+v %v", vs, err)
	}
	if vs[1].Settings.SubjectPrefix != "[wt] " || vs[2].Settings.MaxRecipients != 20 || vs[2].Author != "" || vs[2].Reason != reasonUnsaid {
		t.Fatalf("history: %+v", vs)
	}
	l, _ = f.s.GetList(ctx, testList)
	if l.DisplayName != "WT" || !reflect.DeepEqual(l.Settings, vs[2].Settings) {
		t.Fatalf("list: %+v", l)
	}

	// Author and reason are required; invalid settings are refused.
	var inv *InvalidError
	if _, _, err := f.s.ChangeSettings(ctx, testList, set, Change{Reason: "x"}); !errors.As(err, &inv) || inv.Field != "author" {
		t.Errorf("no author: %v", err)
	}
	if _, _, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "rob", Reason: " "}); !errors.As(err, &inv) || inv.Field != "reason" {
		t.Errorf("no reason: %v", err)
	}
	bad := set
	bad.DefaultMemberAction = "maybe"
	var se *SettingsError
	if _, _, err := f.s.ChangeSettings(ctx, testList, bad, Change{Author: "rob", Reason: "x", Confirm: true}); !errors.As(err, &se) {
		t.Errorf("invalid: %v", err)
	}
	var nf *NotFoundError
	if _, _, err := f.s.ChangeSettings(ctx, "nope@lists.example.org", set, Change{Author: "rob", Reason: "x"}); !errors.As(err, &nf) {
		t.Errorf("no list: %v", err)
	}
}

// A list created before history was kept gets its settings of that time as
// version 1 at the first change.
func TestHistoryBaselineForOldList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	l := f.newList(t, nil)
	if _, err := f.s.db.Exec(`DELETE FROM list_versions`); err != nil {
		t.Fatal(err)
	}
	vs, err := f.s.History(ctx, testList)
	if err != nil || len(vs) != 1 || vs[0].Reason != reasonBaseline {
		t.Fatalf("%+v %v", vs, err)
	}
	set := l.Settings
	set.ArchivePolicy = ArchivePolicyNone
	if _, _, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "ann", Reason: "no archive"}); err != nil {
		t.Fatal(err)
	}
	vs, err = f.s.History(ctx, testList)
	if err != nil || len(vs) != 2 || !vs[0].Settings.Archive || vs[0].Reason != reasonBaseline || vs[1].Settings.Archive ||
		vs[1].Settings.ArchivePolicy != ArchivePolicyNone {
		t.Fatalf("%+v %v", vs, err)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	a := DefaultSettings("wikitech-l")
	if d := Diff(a, a); len(d) != 0 {
		t.Fatalf("equal: %v", d)
	}
	b := a
	b.DefaultMemberAction = Hold
	b.BannedAddresses = []string{"spam@example.com", `^.*@bad\.example$`}
	b.MaxRecipients = 3
	b.HeaderMatches = []HeaderMatch{{Header: "X-Spam", Pattern: "yes", Action: Discard}}
	want := []FieldChange{
		{Field: "default_member_action", Old: `"accept"`, New: `"hold"`},
		{Field: "max_recipients", Old: "10", New: "3"},
		{Field: "banned_addresses", Old: "[]", New: `["spam@example.com","^.*@bad\\.example$"]`},
		{Field: "header_matches", Old: "[]", New: `[{"header":"X-Spam","pattern":"yes","action":"discard"}]`},
	}
	if got := Diff(a, b); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	// nil and empty lists are the same.
	c := a
	c.BannedAddresses = []string{}
	if d := Diff(a, c); len(d) != 0 {
		t.Fatalf("nil vs empty: %v", d)
	}
}

func TestSetField(t *testing.T) {
	t.Parallel()
	base := DefaultSettings("wikitech-l")
	cases := []struct {
		key, value string
		check      func(Settings) bool
	}{
		{"default_member_action", "hold", func(s Settings) bool { return s.DefaultMemberAction == Hold }},
		{"Emergency_Moderation", "yes", func(s Settings) bool { return s.EmergencyModeration }},
		{"max_message_size", "2048", func(s Settings) bool { return s.MaxMessageSize == 2048 }},
		{"subject_prefix", "", func(s Settings) bool { return s.SubjectPrefix == "" }},
		{"banned_addresses", "a@example.com, ^.*@x\\.example$", func(s Settings) bool {
			return reflect.DeepEqual(s.BannedAddresses, []string{"a@example.com", `^.*@x\.example$`})
		}},
		{"banned_addresses", "", func(s Settings) bool { return len(s.BannedAddresses) == 0 }},
		{"header_matches", `[{"header":"X-Spam","pattern":"yes","action":"hold"}]`, func(s Settings) bool {
			return len(s.HeaderMatches) == 1 && s.HeaderMatches[0].Action == Hold
		}},
	}
	for _, c := range cases {
		got, err := SetField(base, c.key, c.value)
		if err != nil || !c.check(got) {
			t.Errorf("%s=%s: %+v %v", c.key, c.value, got, err)
		}
	}
	for _, c := range []struct{ key, value, want string }{
		{"nope", "1", "unknown; known settings"},
		{"version", "2", "unknown"},
		{"archive", "maybe", "true or false"},
		{"max_recipients", "ten", "whole number"},
		{"max_recipients", "-1", "must be >= 0"},
		{"default_member_action", "maybe", "default_member_action"},
		{"header_matches", "X-Spam", "JSON array"},
		{"header_matches", `[{"header":"X","patern":"y"}]`, "unknown field"},
	} {
		got, err := SetField(base, c.key, c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: err = %v, want %q", c.key, c.value, err, c.want)
		}
		if !reflect.DeepEqual(got, base) {
			t.Errorf("%s=%s: settings changed on error", c.key, c.value)
		}
	}
}

func TestSettingValues(t *testing.T) {
	t.Parallel()
	vs := SettingValues(DefaultSettings("wikitech-l"))
	if len(vs) != len(SettingNames())-1 || vs[0].Field != "subscription_policy" || vs[0].Value != `"confirm"` {
		t.Fatalf("%+v", vs)
	}
	got := map[string]string{}
	for _, v := range vs {
		got[v.Field] = v.Value
	}
	if got["emergency_moderation"] != "false" || got["banned_addresses"] != "[]" || got["max_recipients"] != "10" {
		t.Fatalf("%v", got)
	}
}

// Concurrent changes each get their own version number; none is lost.
func TestHistoryConcurrentChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	l := f.newList(t, nil)
	const writers, each = 3, 4
	errs := make(chan error, writers*each)
	for w := range writers {
		go func() {
			for i := range each {
				set := l.Settings
				set.MaxRecipients = 100 + w*each + i
				_, _, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "w", Reason: "load"})
				errs <- err
			}
		}()
	}
	for range writers * each {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	vs, err := f.s.History(ctx, testList)
	if err != nil || len(vs) != 1+writers*each {
		t.Fatalf("%d versions, %v", len(vs), err)
	}
	for i, v := range vs {
		if v.Number != i+1 {
			t.Fatalf("version %d at %d", v.Number, i)
		}
	}
	cur, _ := f.s.GetList(ctx, testList)
	if !reflect.DeepEqual(cur.Settings, vs[len(vs)-1].Settings) {
		t.Fatal("current settings are not the newest version")
	}
}
