package lists

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

// TestRules drives each rule to a hit and a miss and checks the action and
// the deciding rule.
func TestRules(t *testing.T) {
	t.Parallel()
	const pw = "s3cret moderator"
	b64 := base64.StdEncoding.EncodeToString([]byte("Approved: " + pw + "\r\nHello\r\n"))
	tests := []struct {
		name   string
		edit   func(*Settings)
		env    string
		lines  []string
		action Action
		rule   string // deciding rule
		hits   []string
		size   int64
	}{
		{name: "member accepted", lines: msg("ann@example.org"), action: Accept, rule: RuleMemberModeration,
			hits: []string{RuleMemberModeration}},
		{name: "nonmember held", lines: msg("bob@example.net"), action: Hold, rule: RuleNonmemberModeration,
			hits: []string{RuleNonmemberModeration}},

		{name: "approved header accepts nonmember", lines: msg("bob@example.net", "Approved: "+pw),
			action: Accept, rule: RuleApproved, hits: []string{RuleApproved}},
		{name: "approve header", lines: msg("bob@example.net", "Approve: "+pw), action: Accept, rule: RuleApproved},
		{name: "x-approved header", lines: msg("bob@example.net", "X-Approved: "+pw), action: Accept, rule: RuleApproved},
		{name: "approved wrong password", lines: msg("bob@example.net", "Approved: guess"),
			action: Hold, rule: RuleNonmemberModeration},
		{name: "approved body line", lines: []string{"From: bob@example.net", "To: " + testList, "Subject: s", "",
			"", "Approved: " + pw, "text"}, action: Accept, rule: RuleApproved},
		{name: "approved in base64 first text part", lines: []string{"From: bob@example.net", "To: " + testList, "Subject: s",
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b"`, "", "--b",
			"Content-Type: text/plain", "Content-Transfer-Encoding: base64", "", b64, "--b--", ""}, action: Accept, rule: RuleApproved},
		{name: "approved overrides emergency", edit: func(s *Settings) { s.EmergencyModeration = true },
			lines: msg("ann@example.org", "Approved: "+pw), action: Accept, rule: RuleApproved},
		{name: "approved overrides record-only holds", lines: []string{"From: bob@example.net", "Approved: " + pw, "", "x"},
			action: Accept, rule: RuleApproved},

		{name: "emergency holds members", edit: func(s *Settings) { s.EmergencyModeration = true },
			lines: msg("ann@example.org"), action: Hold, rule: RuleEmergency, hits: []string{RuleEmergency}},

		{name: "loop x-beenthere", lines: msg("ann@example.org", "X-BeenThere: "+strings.ToUpper(testList)),
			action: Discard, rule: RuleLoop},
		{name: "loop list-post", lines: msg("ann@example.org", "List-Post: <mailto:"+testList+">"),
			action: Discard, rule: RuleLoop},
		{name: "other list's x-beenthere", lines: msg("ann@example.org", "X-BeenThere: other@lists.example.org"),
			action: Accept, rule: RuleMemberModeration},

		{name: "banned exact", edit: func(s *Settings) { s.BannedAddresses = []string{"ANN@example.org"} },
			lines: msg("ann@example.org"), action: Discard, rule: RuleBanned},
		{name: "banned regex", edit: func(s *Settings) { s.BannedAddresses = []string{`^.*@spam\.example$`} },
			lines: msg("x@SPAM.example"), action: Discard, rule: RuleBanned},
		{name: "banned via envelope", edit: func(s *Settings) { s.BannedAddresses = []string{`^.*@spam\.example$`} },
			env: "bot@spam.example", lines: msg("ann@example.org"), action: Discard, rule: RuleBanned},
		{name: "banned regex misses", edit: func(s *Settings) { s.BannedAddresses = []string{`^.*@spam\.example$`} },
			lines: msg("ann@example.org"), action: Accept, rule: RuleMemberModeration},

		{name: "member own hold", lines: msg("held@example.org"), action: Hold, rule: RuleMemberModeration},
		{name: "member own reject", lines: msg("rej@example.org"), action: Reject, rule: RuleMemberModeration},
		{name: "member own discard", lines: msg("dis@example.org"), action: Discard, rule: RuleMemberModeration},
		{name: "member default hold", edit: func(s *Settings) { s.DefaultMemberAction = Hold },
			lines: msg("ann@example.org"), action: Hold, rule: RuleMemberModeration},
		{name: "member defer goes on to record-only", edit: func(s *Settings) { s.DefaultMemberAction = Defer },
			lines: []string{"From: ann@example.org", "To: " + testList, "", "x"}, action: Hold, rule: "record-only",
			hits: []string{RuleNoSubject}},
		{name: "member defer clean post accepted", edit: func(s *Settings) { s.DefaultMemberAction = Defer },
			lines: msg("ann@example.org"), action: Accept, rule: ""},
		{name: "owner not subscribed posts as member", lines: msg("boss@example.org"), action: Accept, rule: RuleMemberModeration},

		{name: "header match own action", edit: headerRule("X-Spam-Flag", "^yes", Discard),
			lines: msg("bob@example.net", "X-Spam-Flag: YES"), action: Discard, rule: RuleHeaderMatch},
		{name: "header match accept", edit: headerRule("List-Id", `announce\.example`, Accept),
			lines: msg("bob@example.net", "List-Id: <announce.example>"), action: Accept, rule: RuleHeaderMatch},
		{name: "header match encoded subject", edit: headerRule("Subject", "viagra", Reject),
			lines:  []string{"From: bob@example.net", "To: " + testList, "Subject: =?utf-8?q?buy_VIAGRA?=", "", "x"},
			action: Reject, rule: RuleHeaderMatch},
		{name: "header match miss", edit: headerRule("X-Spam-Flag", "^yes", Discard),
			lines: msg("bob@example.net", "X-Spam-Flag: no"), action: Hold, rule: RuleNonmemberModeration},
		{name: "header match defer records only", edit: headerRule("X-Mailer", "mutt", Defer),
			lines: msg("bob@example.net", "X-Mailer: Mutt"), action: Hold, rule: RuleNonmemberModeration,
			hits: []string{RuleHeaderMatch, RuleNonmemberModeration}},
		{name: "members skip header match", edit: headerRule("X-Spam-Flag", "^yes", Discard),
			lines: msg("ann@example.org", "X-Spam-Flag: YES"), action: Accept, rule: RuleMemberModeration},

		{name: "nonmember own accept", lines: msg("friend@example.net"), action: Accept, rule: RuleNonmemberModeration},
		{name: "nonmember default reject", edit: func(s *Settings) { s.DefaultNonmemberAction = Reject },
			lines: msg("bob@example.net"), action: Reject, rule: RuleNonmemberModeration},
		{name: "nonmember default discard", edit: func(s *Settings) { s.DefaultNonmemberAction = Discard },
			lines: msg("bob@example.net"), action: Discard, rule: RuleNonmemberModeration},
		{name: "no sender at all is a nonmember", lines: []string{"To: " + testList, "Subject: s", "", "x"},
			action: Hold, rule: RuleNonmemberModeration},
		{name: "nonmember defer then accept", edit: func(s *Settings) { s.DefaultNonmemberAction = Defer },
			lines: msg("bob@example.net"), action: Accept, rule: ""},

		// Record-only rules: reached by a deferred poster; each holds alone.
		{name: "administrivia subject", edit: deferAll, lines: []string{"From: bob@example.net", "To: " + testList, "Subject: unsubscribe", "", "x"},
			action: Hold, rule: "record-only", hits: []string{RuleAdministrivia}},
		{name: "administrivia body", edit: deferAll, lines: []string{"From: bob@example.net", "To: " + testList, "Subject: please", "", "", "subscribe", "thanks"},
			action: Hold, rule: "record-only", hits: []string{RuleAdministrivia}},
		{name: "administrivia prose passes", edit: deferAll, lines: []string{"From: bob@example.net", "To: " + testList, "Subject: Help me understand this error please", "", "subscribe to my newsletter today everyone"},
			action: Accept},
		{name: "administrivia off", edit: func(s *Settings) { deferAll(s); s.AdministriviaCheck = false },
			lines: []string{"From: bob@example.net", "To: " + testList, "Subject: unsubscribe", "", "x"}, action: Accept},
		{name: "implicit destination", edit: deferAll, lines: []string{"From: bob@example.net", "To: someone@example.com", "Subject: s", "", "x"},
			action: Hold, rule: "record-only", hits: []string{RuleImplicitDest}},
		{name: "implicit destination cc ok", edit: deferAll, lines: []string{"From: bob@example.net", "To: someone@example.com", "Cc: " + strings.ToUpper(testList), "Subject: s", "", "x"},
			action: Accept},
		{name: "implicit destination alias", edit: func(s *Settings) { deferAll(s); s.AcceptableAliases = []string{`^wikitech@.*`} },
			lines: []string{"From: bob@example.net", "To: wikitech@example.org", "Subject: s", "", "x"}, action: Accept},
		{name: "max recipients", edit: func(s *Settings) { deferAll(s); s.MaxRecipients = 3 },
			lines:  []string{"From: bob@example.net", "To: " + testList + ", a@x.example", "Cc: b@x.example", "Subject: s", "", "x"},
			action: Hold, rule: "record-only", hits: []string{RuleMaxRecipients}},
		{name: "max recipients under", edit: func(s *Settings) { deferAll(s); s.MaxRecipients = 4 },
			lines: []string{"From: bob@example.net", "To: " + testList + ", a@x.example", "Cc: b@x.example", "Subject: s", "", "x"}, action: Accept},
		{name: "max size", edit: func(s *Settings) { deferAll(s); s.MaxMessageSize = 1000 }, size: 1001,
			lines: msg("bob@example.net"), action: Hold, rule: "record-only", hits: []string{RuleMaxSize}},
		{name: "max size at limit", edit: func(s *Settings) { deferAll(s); s.MaxMessageSize = 1000 }, size: 1000,
			lines: msg("bob@example.net"), action: Accept},
		{name: "no subject", edit: deferAll, lines: []string{"From: bob@example.net", "To: " + testList, "Subject:   ", "", "x"},
			action: Hold, rule: "record-only", hits: []string{RuleNoSubject}},
		{name: "subject is only the prefix", edit: deferAll, lines: []string{"From: bob@example.net", "To: " + testList, "Subject: Re: [wikitech-l]", "", "x"},
			action: Accept},
		{name: "subject prefix only", edit: deferAll, lines: []string{"From: bob@example.net", "To: " + testList, "Subject: [wikitech-l] ", "", "x"},
			action: Hold, rule: "record-only", hits: []string{RuleNoSubject}},
		{name: "subject not required", edit: func(s *Settings) { deferAll(s); s.RequireSubject = false },
			lines: []string{"From: bob@example.net", "To: " + testList, "", "x"}, action: Accept},
		{name: "suspicious header", edit: func(s *Settings) {
			deferAll(s)
			s.SuspiciousHeaders = []HeaderPattern{{Header: "X-Mailer", Pattern: "bulk"}}
		}, lines: msg("bob@example.net", "X-Mailer: BulkMailer 2.0"), action: Hold, rule: "record-only", hits: []string{RuleSuspiciousHeader}},
		{name: "several record-only hits", edit: deferAll, lines: []string{"From: bob@example.net", "To: x@example.com", "", "unsubscribe"},
			action: Hold, rule: "record-only", hits: []string{RuleAdministrivia, RuleImplicitDest, RuleNoSubject}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.newList(t, tt.edit)
			ctx := context.Background()
			if err := f.s.SetModeratorPassword(ctx, testList, pw); err != nil {
				t.Fatal(err)
			}
			f.addMember(t, "ann@example.org", RoleMember, nil)
			f.addMember(t, "held@example.org", RoleMember, act(Hold))
			f.addMember(t, "rej@example.org", RoleMember, act(Reject))
			f.addMember(t, "dis@example.org", RoleMember, act(Discard))
			f.addMember(t, "boss@example.org", RoleOwner, nil)
			f.addMember(t, "friend@example.net", RoleNonmember, act(Accept))
			p := post(t, tt.env, append(tt.lines, "")...)
			if tt.size != 0 {
				p.Size = tt.size
			}
			d := f.chain.Decide(ctx, testList, p)
			if d.Action != tt.action {
				t.Fatalf("action %s, want %s\n%s", d.Action, tt.action, explain(d))
			}
			if tt.rule != "" && d.Rule != tt.rule {
				t.Fatalf("rule %q, want %q\n%s", d.Rule, tt.rule, explain(d))
			}
			if tt.hits != nil && !slices.Equal(d.Hits(), tt.hits) {
				t.Fatalf("hits %v, want %v\n%s", d.Hits(), tt.hits, explain(d))
			}
			if d.Action == Reject && d.Notice == "" {
				t.Fatal("reject without a notice")
			}
			if d.Err != "" {
				t.Fatalf("rule error: %s", d.Err)
			}
		})
	}
}

func msg(from string, extra ...string) []string {
	return append([]string{"From: " + from, "To: " + testList, "Subject: Deploy tonight"}, append(extra, "", "Hello,", "it is at 20:00.")...)
}

func headerRule(h, p string, a Action) func(*Settings) {
	return func(s *Settings) { s.HeaderMatches = []HeaderMatch{{Header: h, Pattern: p, Action: a}} }
}

func deferAll(s *Settings) { s.DefaultMemberAction, s.DefaultNonmemberAction = Defer, Defer }

func explain(d Decision) string {
	var b strings.Builder
	for _, r := range d.Rules {
		b.WriteString("  " + r.Rule)
		if r.Hit {
			b.WriteString(" HIT")
		}
		b.WriteString(" " + r.Detail + " " + string(r.Action) + "\n")
	}
	return b.String()
}

func TestApprovedStripsHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	if err := f.s.SetModeratorPassword(ctx, testList, "pw"); err != nil {
		t.Fatal(err)
	}
	d := f.chain.Evaluate(ctx, testList, post(t, "", append(msg("bob@example.net", "Approved: pw", "X-Approve: wrong"), "")...))
	if d.Action != Accept || !slices.Equal(d.StripHeaders, []string{"Approved", "X-Approve"}) {
		t.Fatalf("%+v", d)
	}
	// The first field present decides; a wrong password in it is not
	// rescued by a later one, but both are stripped.
	d = f.chain.Evaluate(ctx, testList, post(t, "", "From: bob@example.net", "Approved: wrong", "X-Approve: pw", "", "x"))
	if d.Action != Hold || len(d.StripHeaders) != 2 {
		t.Fatalf("%+v", d)
	}
	d = f.chain.Evaluate(ctx, testList, post(t, "", "From: bob@example.net", "To: "+testList, "Subject: s", "", "Approved: pw", "x"))
	if d.Action != Accept || !d.ApprovedBodyLine {
		t.Fatalf("%+v", d)
	}
	// Without a list password nothing is approved.
	if err := f.s.SetModeratorPassword(ctx, testList, ""); err != nil {
		t.Fatal(err)
	}
	d = f.chain.Evaluate(ctx, testList, post(t, "", "From: bob@example.net", "Approved: ", "", "x"))
	if d.Action != Hold {
		t.Fatalf("%+v", d)
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h, err := hashPassword(f.s.rand, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := hashPassword(f.s.rand, "correct horse")
	if h == h2 {
		t.Fatal("same hash twice: no salt")
	}
	if ok, err := checkPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
	if ok, _ := checkPassword(h, "correct horsE"); ok {
		t.Fatal("wrong password accepted")
	}
	for _, bad := range []string{"", "md5$x", "pbkdf2-sha256$0$a$b", "pbkdf2-sha256$10$!!$b"} {
		if _, err := checkPassword(bad, "x"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
