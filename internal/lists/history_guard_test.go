package lists

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The 2015 incident: a change that makes every member's post held must not
// apply silently. Without confirmation it is refused, naming the rule that
// would hold, and nothing changes; with confirmation it is recorded with
// its author and reason.
func TestChangeThatHoldsMembersNeedsConfirmation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	l := f.newList(t, nil)
	f.addMember(t, "ann@example.org", RoleMember, nil)

	set := l.Settings
	set.DefaultMemberAction = Hold
	_, warns, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "rob", Reason: "moderate everything"})
	var nc *NeedsConfirmation
	if !errors.As(err, &nc) {
		t.Fatalf("err = %v, want *NeedsConfirmation", err)
	}
	if len(warns) != 2 || len(nc.Warnings) != 2 {
		t.Fatalf("warnings: %+v", warns)
	}
	for i, poster := range []string{checkMember, "ann@example.org"} {
		w := warns[i]
		if w.Kind != WarnMemberPost || w.Poster != poster || w.Action != Hold || w.Rule != RuleMemberModeration || w.Already {
			t.Errorf("warning %d: %+v", i, w)
		}
		if !strings.Contains(w.Message, "held by rule member-moderation") {
			t.Errorf("message: %q", w.Message)
		}
	}
	if !strings.Contains(err.Error(), "member-moderation") {
		t.Errorf("error text: %v", err)
	}
	// Nothing was written, and the live chain still accepts members.
	if vs, _ := f.s.History(ctx, testList); len(vs) != 1 {
		t.Fatalf("versions after refusal: %d", len(vs))
	}
	if d := f.chain.Evaluate(ctx, testList, memberPost(t)); d.Action != Accept {
		t.Fatalf("member post after refusal: %s (%s)", d.Action, d.Reason)
	}

	// Confirmed: applied and recorded, with the warnings it was given.
	v, warns, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "rob", Reason: "moderate everything", Confirm: true})
	if err != nil || len(warns) != 2 || v.Number != 2 || v.Author != "rob" || v.Reason != "moderate everything" {
		t.Fatalf("confirmed: %+v %v %v", v, warns, err)
	}
	if d := f.chain.Evaluate(ctx, testList, memberPost(t)); d.Action != Hold || d.Rule != RuleMemberModeration {
		t.Fatalf("member post after change: %s by %s", d.Action, d.Rule)
	}
	vs, err := f.s.History(ctx, testList)
	if err != nil || len(vs) != 2 || vs[1].Settings.DefaultMemberAction != Hold || vs[1].Author != "rob" {
		t.Fatalf("history: %+v %v", vs, err)
	}
	// Any later change reports that members are already held.
	set.SubjectPrefix = ""
	_, warns, err = f.s.ChangeSettings(ctx, testList, set, Change{Author: "rob", Reason: "no prefix"})
	if !errors.As(err, &nc) || len(warns) == 0 || !warns[0].Already {
		t.Fatalf("later change: %+v %v", warns, err)
	}
}

func TestCheckSettingsRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		members []string
		edit    func(*Settings)
		kinds   []string
		rule    string // of the first warning
	}{
		{"defaults", nil, func(*Settings) {}, nil, ""},
		{"emergency", nil, func(s *Settings) { s.EmergencyModeration = true }, []string{WarnMemberPost}, RuleEmergency},
		{"member reject", nil, func(s *Settings) { s.DefaultMemberAction = Reject }, []string{WarnMemberPost}, RuleMemberModeration},
		{"ban a member's domain", []string{"ann@example.org"}, func(s *Settings) { s.BannedAddresses = []string{`^.*@example\.org$`} },
			[]string{WarnMemberPost}, RuleBanned},
		// Members' own action decides before header rules...
		{"header rule, members accepted", nil, func(s *Settings) {
			s.HeaderMatches = []HeaderMatch{{Header: "Subject", Pattern: ".", Action: Discard}}
		}, nil, ""},
		// ...unless it defers.
		{"header rule, members deferred", nil, func(s *Settings) {
			s.DefaultMemberAction = Defer
			s.HeaderMatches = []HeaderMatch{{Header: "Subject", Pattern: ".", Action: Discard}}
		}, []string{WarnMemberPost}, RuleHeaderMatch},
		{"open to anybody", nil, func(s *Settings) { s.DefaultNonmemberAction = Accept }, []string{WarnNonmemberPost}, RuleNonmemberModeration},
		{"member defer then size", nil, func(s *Settings) { s.DefaultMemberAction = Defer; s.MaxMessageSize = 4096 },
			[]string{WarnMemberPost}, RuleMaxSize},
		{"harmless", []string{"ann@example.org"}, func(s *Settings) { s.SubjectPrefix = ""; s.MaxMessageSize = 2 << 20 }, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			l := f.newList(t, nil)
			for _, m := range c.members {
				f.addMember(t, m, RoleMember, nil)
			}
			set := l.Settings
			c.edit(&set)
			warns, err := f.s.CheckSettings(ctx, testList, set)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, w := range warns {
				kinds = append(kinds, w.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(c.kinds, ",") {
				t.Fatalf("kinds %v, want %v: %+v", kinds, c.kinds, warns)
			}
			if c.rule != "" && warns[0].Rule != c.rule {
				t.Fatalf("rule %q, want %q: %+v", warns[0].Rule, c.rule, warns[0])
			}
		})
	}
}

func TestCheckSettingsDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	l := f.newList(t, nil)
	// No members at all is not a warning (a new list).
	if w, err := f.s.CheckSettings(ctx, testList, l.Settings); err != nil || len(w) != 0 {
		t.Fatalf("empty list: %+v %v", w, err)
	}
	f.addMember(t, "ann@example.org", RoleMember, nil)
	f.addMember(t, "bob@example.org", RoleMember, nil)
	for _, a := range []string{"ann@example.org", "bob@example.org"} {
		if err := f.s.SetDelivery(ctx, testList, a, DeliveryDisabledBounce); err != nil {
			t.Fatal(err)
		}
	}
	set := l.Settings
	set.SubjectPrefix = ""
	_, warns, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "rob", Reason: "x"})
	var nc *NeedsConfirmation
	if !errors.As(err, &nc) || len(warns) != 1 || warns[0].Kind != WarnDelivery || !strings.Contains(warns[0].Message, "all 2 members") {
		t.Fatalf("%+v %v", warns, err)
	}
	// One enabled member is enough.
	if err := f.s.SetDelivery(ctx, testList, "bob@example.org", DeliveryEnabled); err != nil {
		t.Fatal(err)
	}
	if _, warns, err := f.s.ChangeSettings(ctx, testList, set, Change{Author: "rob", Reason: "x"}); err != nil || len(warns) != 0 {
		t.Fatalf("%+v %v", warns, err)
	}
}

func TestRestore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	l := f.newList(t, nil)
	f.addMember(t, "ann@example.org", RoleMember, nil)
	good := l.Settings
	bad := good
	bad.DefaultMemberAction = Hold
	if _, _, err := f.s.ChangeSettings(ctx, testList, bad, Change{Author: "rob", Reason: "oops", Confirm: true}); err != nil {
		t.Fatal(err)
	}
	// Restoring the good version is a new version 3 and needs no confirmation.
	v, warns, err := f.s.Restore(ctx, testList, 1, Change{Author: "john", Reason: "revert: members were held"})
	if err != nil || len(warns) != 0 || v.Number != 3 || v.RestoredFrom != 1 || v.Author != "john" {
		t.Fatalf("restore: %+v %+v %v", v, warns, err)
	}
	if d := f.chain.Evaluate(ctx, testList, memberPost(t)); d.Action != Accept {
		t.Fatalf("member post after restore: %s", d.Action)
	}
	vs, err := f.s.History(ctx, testList)
	if err != nil || len(vs) != 3 || Diff(vs[0].Settings, vs[2].Settings) != nil || vs[2].RestoredFrom != 1 {
		t.Fatalf("history: %+v %v", vs, err)
	}
	if d := Diff(vs[1].Settings, vs[2].Settings); len(d) != 1 || d[0].Field != "default_member_action" || d[0].New != `"accept"` {
		t.Fatalf("diff 2→3: %v", d)
	}
	// Restoring the bad one goes through the same check.
	var nc *NeedsConfirmation
	if _, _, err := f.s.Restore(ctx, testList, 2, Change{Author: "rob", Reason: "again"}); !errors.As(err, &nc) {
		t.Fatalf("restore of the holding version: %v", err)
	}
	var nf *NotFoundError
	if _, _, err := f.s.Restore(ctx, testList, 9, Change{Author: "rob", Reason: "x"}); !errors.As(err, &nf) {
		t.Fatalf("unknown version: %v", err)
	}
}
