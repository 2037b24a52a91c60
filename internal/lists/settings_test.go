package lists

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDefaultSettings(t *testing.T) {
	t.Parallel()
	s := DefaultSettings("wikitech-l")
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.SubscriptionPolicy != PolicyConfirm || s.DefaultMemberAction != Accept || s.DefaultNonmemberAction != Hold ||
		s.EmergencyModeration || !s.AdministriviaCheck || !s.Archive || s.ReplyTo != ReplyToPoster ||
		s.SubjectPrefix != "[wikitech-l] " || s.Version != SettingsVersion {
		t.Fatalf("%+v", s)
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	t.Parallel()
	s := DefaultSettings("x")
	s.SubscriptionPolicy = "sometimes"
	s.DefaultMemberAction = ""
	s.BannedAddresses = []string{"^(", "nobody"}
	s.HeaderMatches = []HeaderMatch{{Header: "", Pattern: "[", Action: "bounce"}}
	s.ReplyTo = ReplyToExplicit
	err := s.Validate()
	var se *SettingsError
	if !errors.As(err, &se) || len(se.Problems) != 8 {
		t.Fatalf("err = %v", err)
	}
}

func TestSettingsStoredStrictly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	// A change round-trips and bumps rev.
	l, _ := f.s.GetList(ctx, testList)
	set := l.Settings
	set.EmergencyModeration = true
	set.BannedAddresses = []string{`^.*@spam\.example$`}
	if err := f.s.SetSettings(ctx, testList, set); err != nil {
		t.Fatal(err)
	}
	l2, err := f.s.GetList(ctx, testList)
	if err != nil || !l2.Settings.EmergencyModeration || l2.Rev != l.Rev+1 || len(l2.Settings.BannedAddresses) != 1 {
		t.Fatalf("%+v %v", l2, err)
	}
	// An invalid change is refused and changes nothing.
	set.DefaultMemberAction = "maybe"
	if err := f.s.SetSettings(ctx, testList, set); err == nil {
		t.Fatal("invalid settings stored")
	}
	for _, js := range []string{
		`{"version":2}`,                 // newer program
		`{"version":1,"surprise":true}`, // unknown key
		`{}`,                            // no version
		`{"version":1,"default_member_action":"maybe"}`,
	} {
		if _, err := f.s.db.Exec(`UPDATE lists SET settings = ?`, js); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.GetList(ctx, testList); err == nil || !strings.Contains(err.Error(), "settings") {
			t.Errorf("%s: err = %v", js, err)
		}
	}
}

func TestListCRUD(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	l := f.newList(t, nil)
	if l.Address() != testList || l.DisplayName != "Wikitech" || l.HasModeratorPassword {
		t.Fatalf("%+v", l)
	}
	var ex *ExistsError
	if _, err := f.s.CreateList(ctx, ListSpec{Address: "WIKITECH-L@lists.example.org"}); !errors.As(err, &ex) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := f.s.CreateList(ctx, ListSpec{Address: "analytics@lists.example.org"}); err != nil {
		t.Fatal(err)
	}
	all, err := f.s.Lists(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "analytics" {
		t.Fatalf("%v %v", all, err)
	}
	if err := f.s.UpdateList(ctx, testList, "WT", "tech talk", l.Settings); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetModeratorPassword(ctx, testList, "pw"); err != nil {
		t.Fatal(err)
	}
	l, _ = f.s.GetList(ctx, testList)
	if l.DisplayName != "WT" || l.Description != "tech talk" || !l.HasModeratorPassword {
		t.Fatalf("%+v", l)
	}
	f.addMember(t, "ann@example.org", RoleMember, nil)
	if err := f.s.DeleteList(ctx, testList); err != nil {
		t.Fatal(err)
	}
	var nf *NotFoundError
	if _, err := f.s.GetList(ctx, testList); !errors.As(err, &nf) {
		t.Fatalf("err = %v", err)
	}
	var n int
	if err := f.s.db.QueryRow(`SELECT count(*) FROM members`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("members left: %d %v", n, err)
	}
}
