package lists

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRuleOrder(t *testing.T) {
	t.Parallel()
	want := []string{
		"approved", "emergency", "loop", "banned-address", "member-moderation",
		"header-match", "nonmember-moderation",
		"administrivia", "implicit-destination", "max-recipients", "max-size", "no-subject", "suspicious-header",
	}
	if got := RuleOrder(); !slices.Equal(got, want) {
		t.Fatalf("RuleOrder() = %v\nwant %v", got, want)
	}
	f := newFixture(t)
	if got := f.chain.RuleOrder(); !slices.Equal(got, want) {
		t.Fatalf("chain order = %v\nwant %v", got, want)
	}
	// The record-only rules are exactly the last six.
	for i, r := range f.chain.rules {
		if r.recordOnly != (i >= 7) {
			t.Errorf("rule %s recordOnly = %v", r.name, r.recordOnly)
		}
	}
}

// The 2015 failure: with default settings a member's post is accepted.
func TestDefaultsMemberAcceptedNonmemberHeld(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	f.addMember(t, "Ann@Example.ORG", RoleMember, nil)
	ctx := context.Background()

	d := f.chain.Decide(ctx, testList, memberPost(t))
	if d.Action != Accept || d.Rule != RuleMemberModeration || !d.Member || d.Poster != "ann@example.org" {
		t.Fatalf("member post: %+v", d)
	}
	p := post(t, "bob@example.net", "From: bob@example.net", "To: "+testList, "Subject: hi", "", "hello")
	d = f.chain.Decide(ctx, testList, p)
	if d.Action != Hold || d.Rule != RuleNonmemberModeration || d.Member || d.Poster != "bob@example.net" {
		t.Fatalf("nonmember post: %+v", d)
	}
}

// Stored settings that predate a field keep the default, never a zero value
// that would change behaviour (a missing default_member_action must not hold).
func TestStoredSettingsMissingFieldKeepDefault(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	f.addMember(t, "ann@example.org", RoleMember, nil)
	ctx := context.Background()
	if _, err := f.s.db.Exec(`UPDATE lists SET settings = '{"version":1,"subscription_policy":"open"}', rev = rev + 1`); err != nil {
		t.Fatal(err)
	}
	l, err := f.s.GetList(ctx, testList)
	if err != nil {
		t.Fatal(err)
	}
	if l.Settings.DefaultMemberAction != Accept || l.Settings.SubscriptionPolicy != PolicyOpen {
		t.Fatalf("settings = %+v", l.Settings)
	}
	if d := f.chain.Decide(ctx, testList, memberPost(t)); d.Action != Accept {
		t.Fatalf("member post: %+v", d)
	}
}

func TestPosterFromEachSenderField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     string
		headers []string
		source  string
		member  bool
	}{
		{"from", "x@bounce.example", []string{"From: ann@example.org"}, "from", true},
		{"sender", "x@bounce.example", []string{"From: other@example.com", "Sender: ann@example.org"}, "sender", true},
		{"reply-to", "x@bounce.example", []string{"From: other@example.com", "Reply-To: Ann <ANN@example.org>"}, "reply-to", true},
		{"envelope", "ann@EXAMPLE.org", []string{"From: other@example.com"}, "envelope", true},
		{"none", "x@bounce.example", []string{"From: other@example.com"}, "from", false},
		// The first match in order wins: From is a member too.
		{"first wins", "ann@example.org", []string{"From: carl@example.org", "Sender: other@example.com"}, "from", true},
	}
	f := newFixture(t)
	f.newList(t, nil)
	f.addMember(t, "ann@example.org", RoleMember, nil)
	f.addMember(t, "carl@example.org", RoleMember, act(Hold))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := append(append([]string{}, tt.headers...), "To: "+testList, "Subject: s", "", "body")
			d := f.chain.Evaluate(context.Background(), testList, post(t, tt.env, lines...))
			if d.Member != tt.member || d.PosterSource != tt.source {
				t.Fatalf("member=%v source=%q; want %v %q (%+v)", d.Member, d.PosterSource, tt.member, tt.source, d)
			}
			want := Accept
			switch {
			case !tt.member:
				want = Hold
			case tt.name == "first wins":
				want = Hold // carl's own action
			}
			if d.Action != want {
				t.Fatalf("action %s, want %s: %+v", d.Action, want, d)
			}
		})
	}
}

func hitOf(d Decision, rule string) (RuleHit, bool) {
	for _, r := range d.Rules {
		if r.Rule == rule {
			return r, true
		}
	}
	return RuleHit{}, false
}

func TestRuleErrorFailsClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	f.addMember(t, "ann@example.org", RoleMember, nil)
	ctx := context.Background()
	boom := errors.New("disk on fire")
	for i := range f.chain.rules {
		if f.chain.rules[i].name == RuleLoop {
			f.chain.rules[i].check = func(*eval) (outcome, error) { return outcome{}, boom }
		}
	}
	d := f.chain.Decide(ctx, testList, memberPost(t))
	if d.Action != Hold || d.Rule != RuleLoop || !strings.Contains(d.Err, "disk on fire") {
		t.Fatalf("decision: %+v", d)
	}
	if h, ok := hitOf(d, RuleLoop); !ok || h.Err == "" {
		t.Fatalf("loop rule not recorded with its error: %+v", d.Rules)
	}
	if _, ok := hitOf(d, RuleMemberModeration); ok {
		t.Fatal("chain went on after an error")
	}
	if n := f.chain.RuleErrors(); n != 1 {
		t.Fatalf("RuleErrors = %d", n)
	}
	rec, err := f.s.RecentDecisions(ctx, testList, 1)
	if err != nil || len(rec) != 1 || rec[0].Err == "" || rec[0].Action != Hold {
		t.Fatalf("recorded %+v, %v", rec, err)
	}
}

// A real failure underneath (the members table is gone) holds, not accepts.
func TestDatabaseErrorFailsClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	if _, err := f.s.db.Exec(`ALTER TABLE members RENAME TO members_gone`); err != nil {
		t.Fatal(err)
	}
	d := f.chain.Decide(context.Background(), testList, memberPost(t))
	if d.Action != Hold || d.Err == "" || f.chain.RuleErrors() != 1 {
		t.Fatalf("decision: %+v", d)
	}
	// A corrupt stored pattern fails closed as well.
	if _, err := f.s.db.Exec(`ALTER TABLE members_gone RENAME TO members`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.db.Exec(`UPDATE lists SET settings = json_set(settings, '$.header_matches', json('[{"header":"X","pattern":"(","action":"hold"}]')), rev = rev + 1`); err != nil {
		t.Fatal(err)
	}
	d = f.chain.Decide(context.Background(), testList, memberPost(t))
	if d.Action != Hold || d.Err == "" {
		t.Fatalf("decision with corrupt settings: %+v", d)
	}
}

func TestUnknownListRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.chain.Decide(context.Background(), "nope@lists.example.org", memberPost(t))
	if d.Action != Reject || d.Notice == "" {
		t.Fatalf("%+v", d)
	}
}

func TestDecisionsRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	f.addMember(t, "ann@example.org", RoleMember, nil)
	ctx := context.Background()
	d1 := f.chain.Decide(ctx, testList, memberPost(t))
	d2 := f.chain.Decide(ctx, testList, post(t, "", "From: eve@example.net", "To: "+testList, "Subject: x", "Message-ID: <e@x>", "", "b"))
	if d1.ID == 0 || d2.ID <= d1.ID {
		t.Fatalf("ids %d %d", d1.ID, d2.ID)
	}
	// Evaluate records nothing.
	f.chain.Evaluate(ctx, testList, memberPost(t))
	rec, err := f.s.RecentDecisions(ctx, testList, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != 2 {
		t.Fatalf("%d decisions recorded, want 2", len(rec))
	}
	got := rec[0] // newest first
	if got.ID != d2.ID || got.MessageID != "<e@x>" || got.Poster != "eve@example.net" || got.Action != Hold ||
		got.Rule != RuleNonmemberModeration || got.Member || !got.Time.Equal(f.clock.Now()) {
		t.Fatalf("recorded %+v", got)
	}
	if !slices.Equal(got.Hits(), d2.Hits()) || len(got.Rules) != len(d2.Rules) {
		t.Fatalf("rules %+v, want %+v", got.Rules, d2.Rules)
	}
	if rec[1].Action != Accept || rec[1].Poster != "ann@example.org" || !rec[1].Member {
		t.Fatalf("recorded %+v", rec[1])
	}
	if rec, _ := f.s.RecentDecisions(ctx, testList, 1); len(rec) != 1 {
		t.Fatalf("limit: %d", len(rec))
	}
	// Paging back: the page before d2 holds d1 only, the page before d1 nothing.
	if rec, err := f.s.DecisionsBefore(ctx, testList, d2.ID, 10); err != nil || len(rec) != 1 || rec[0].ID != d1.ID {
		t.Fatalf("before d2: %+v %v", rec, err)
	}
	if rec, err := f.s.DecisionsBefore(ctx, testList, d1.ID, 10); err != nil || len(rec) != 0 {
		t.Fatalf("before d1: %+v %v", rec, err)
	}
}

func TestDecisionNotRecordedIsReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	f.addMember(t, "ann@example.org", RoleMember, nil)
	if _, err := f.s.db.Exec(`DROP TABLE decisions`); err != nil {
		t.Fatal(err)
	}
	d := f.chain.Decide(context.Background(), testList, memberPost(t))
	if d.Action != Accept || d.ID != 0 || d.RecordErr == "" || f.chain.RecordErrors() != 1 {
		t.Fatalf("%+v", d)
	}
}
