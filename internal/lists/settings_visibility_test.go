package lists

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func settingValue(vs []SettingValue, field string) (string, bool) {
	for _, v := range vs {
		if v.Field == field {
			return v.Value, true
		}
	}
	return "", false
}

func TestVisibilitySettingsDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	d := DefaultSettings("x")
	if !d.Advertised || d.ArchivePolicy != ArchivePolicyPublic || !d.Archive || d.ArchivePrivate {
		t.Fatalf("defaults: %+v", d)
	}
	for _, p := range []ArchivePolicy{"", "secret", "Public"} {
		s := d
		s.ArchivePolicy = p
		var se *SettingsError
		if err := s.Validate(); !errors.As(err, &se) || !strings.Contains(err.Error(), "archive_policy") {
			t.Errorf("archive_policy %q: %v", p, err)
		}
	}
	for _, p := range []ArchivePolicy{ArchivePolicyPublic, ArchivePolicyPrivate, ArchivePolicyNone} {
		s := d
		s.ArchivePolicy = p
		if err := s.Validate(); err != nil {
			t.Errorf("archive_policy %q: %v", p, err)
		}
	}
	if ArchivePolicyNone.Archived() || !ArchivePolicyPrivate.Archived() || !ArchivePolicyPublic.Archived() {
		t.Error("Archived")
	}
}

// The new settings take part in SettingValues, Diff and SetField by
// themselves; the former archive keys are not settings of their own.
func TestVisibilitySettingsGeneric(t *testing.T) {
	t.Parallel()
	d := DefaultSettings("x")
	vs := SettingValues(d)
	if v, ok := settingValue(vs, "advertised"); !ok || v != "true" {
		t.Errorf("advertised: %q %v", v, ok)
	}
	if v, ok := settingValue(vs, "archive_policy"); !ok || v != `"public"` {
		t.Errorf("archive_policy: %q %v", v, ok)
	}
	for _, old := range []string{"archive", "archive_private"} {
		if _, ok := settingValue(vs, old); ok {
			t.Errorf("%s is still a setting of its own", old)
		}
	}
	s, err := SetField(d, "archive_policy", "private")
	if err != nil || s.ArchivePolicy != ArchivePolicyPrivate || !s.ArchivePrivate || !s.Archive {
		t.Fatalf("set private: %+v %v", s, err)
	}
	s, err = SetField(s, "advertised", "no")
	if err != nil || s.Advertised {
		t.Fatalf("set advertised: %v", err)
	}
	want := []FieldChange{{Field: "advertised", Old: "true", New: "false"}, {Field: "archive_policy", Old: `"public"`, New: `"private"`}}
	if got := Diff(d, s); !reflect.DeepEqual(got, want) {
		t.Errorf("diff %+v", got)
	}
	if got, err := SetField(d, "archive_policy", "secret"); err == nil || !reflect.DeepEqual(got, d) {
		t.Errorf("bad policy: %v", err)
	}
	// The former keys still work from the command line.
	for _, c := range []struct {
		from      ArchivePolicy
		key, val  string
		want      ArchivePolicy
		wantError bool
	}{
		{ArchivePolicyPublic, "archive", "false", ArchivePolicyNone, false},
		{ArchivePolicyPrivate, "archive", "off", ArchivePolicyNone, false},
		{ArchivePolicyNone, "archive", "true", ArchivePolicyPublic, false},
		{ArchivePolicyPrivate, "archive", "true", ArchivePolicyPrivate, false},
		{ArchivePolicyPublic, "archive_private", "yes", ArchivePolicyPrivate, false},
		{ArchivePolicyNone, "archive_private", "true", ArchivePolicyPrivate, false},
		{ArchivePolicyPrivate, "archive_private", "false", ArchivePolicyPublic, false},
		{ArchivePolicyNone, "archive_private", "false", ArchivePolicyNone, false},
		{ArchivePolicyPublic, "archive", "maybe", ArchivePolicyPublic, true},
	} {
		base := d
		base.ArchivePolicy = c.from
		base.mirrorArchive()
		got, err := SetField(base, c.key, c.val)
		if (err != nil) != c.wantError || got.ArchivePolicy != c.want || got.Archive != c.want.Archived() ||
			got.ArchivePrivate != (c.want == ArchivePolicyPrivate) {
			t.Errorf("%s: %s=%s: %s %v", c.from, c.key, c.val, got.ArchivePolicy, err)
		}
	}
}

// Settings stored before archive_policy and advertised existed load with
// the policy they meant and advertised on.
func TestVisibilitySettingsFromOldStoredSettings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	for _, c := range []struct {
		stored string
		want   ArchivePolicy
	}{
		{`"archive":false,"archive_private":false`, ArchivePolicyNone},
		{`"archive":false,"archive_private":true`, ArchivePolicyNone},
		{`"archive":true,"archive_private":true`, ArchivePolicyPrivate},
		{`"archive":true,"archive_private":false`, ArchivePolicyPublic},
		{`"archive":true`, ArchivePolicyPublic},
		{`"archive_policy":"private"`, ArchivePolicyPrivate},
	} {
		js := `{"version":1,"subscription_policy":"open",` + c.stored + `}`
		if _, err := f.s.db.Exec(`UPDATE lists SET settings = ?`, js); err != nil {
			t.Fatal(err)
		}
		l, err := f.s.GetList(ctx, testList)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		if l.Settings.ArchivePolicy != c.want || !l.Settings.Advertised || l.Settings.Archive != c.want.Archived() ||
			l.Settings.ArchivePrivate != (c.want == ArchivePolicyPrivate) {
			t.Errorf("%s: %+v", js, l.Settings)
		}
	}
	if _, err := f.s.db.Exec(`UPDATE lists SET settings = ?`, `{"version":1,"archive_policy":"secret"}`); err != nil {
		t.Fatal(err)
	}
	var se *SettingsError
	if _, err := f.s.GetList(ctx, testList); !errors.As(err, &se) {
		t.Errorf("stored bad policy: %v", err)
	}
}

// A change of the new settings is a version of the history like any other.
func TestVisibilitySettingsHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	l := f.newList(t, nil)
	ctx := context.Background()
	set := l.Settings
	set.Advertised = false
	set.ArchivePolicy = ArchivePolicyNone
	if _, _, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "ann", Reason: "hide"}); err != nil {
		t.Fatal(err)
	}
	vs, err := f.s.History(ctx, testList)
	if err != nil || len(vs) != 2 {
		t.Fatalf("%+v %v", vs, err)
	}
	want := []FieldChange{{Field: "advertised", Old: "true", New: "false"}, {Field: "archive_policy", Old: `"public"`, New: `"none"`}}
	if got := Diff(vs[0].Settings, vs[1].Settings); !reflect.DeepEqual(got, want) {
		t.Errorf("history diff %+v", got)
	}
	if _, _, err := f.s.Restore(ctx, testList, 1, Change{Author: "ann", Reason: "back"}); err != nil {
		t.Fatal(err)
	}
	l, err = f.s.GetList(ctx, testList)
	if err != nil || !l.Settings.Advertised || l.Settings.ArchivePolicy != ArchivePolicyPublic || !l.Settings.Archive {
		t.Fatalf("after restore: %+v %v", l, err)
	}
}
