package configtest

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/store"
)

const listsDoc = base + "[lists]\ndomains = [\"lists.example.org\"]\n"

// listData creates data_dir/posthorn.db with list team@lists.example.org
// and member ann@example.net (plus whatever setup does with the writable
// store), and returns the store opened read-only, as posthorn check does.
func listData(t *testing.T, setup func(ctx context.Context, st *lists.Store)) *lists.Store {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "posthorn.db")
	opts := lists.Options{Secret: bytes.Repeat([]byte("s"), 32)}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := lists.New(ctx, db, opts)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	if _, err := st.CreateList(ctx, lists.ListSpec{Address: "team@lists.example.org", Author: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddMember(ctx, "team@lists.example.org", lists.NewMember{Address: "Ann <ann@example.net>"}); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(ctx, st)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ro.Close() })
	rst, err := lists.New(ctx, ro, opts)
	if err != nil {
		t.Fatalf("read-only list store: %v", err)
	}
	return rst
}

func TestListCases(t *testing.T) {
	t.Parallel()
	st := listData(t, nil)
	for _, c := range []struct {
		name    string
		test    string
		passed  bool
		actual  Outcome
		reply   string
		inTrail []string
	}{
		{name: "member accepted",
			test:   `client = "192.0.2.7"` + "\nfrom = \"ann@example.net\"\nto = [\"team@lists.example.org\"]\nexpect = \"accepted\"",
			passed: true, actual: Outcome{Accepted, "", "unknown", 250, lists.RuleMemberModeration},
			inTrail: []string{
				"list: <team@lists.example.org> is the posting address of list team@lists.example.org: accepted from any client (lists.domains)",
				"list: team@lists.example.org: poster ann@example.net (the From: field) is a member",
				"rule: member-moderation: hit",
				"list: team@lists.example.org: accepted by rule member-moderation: ann@example.net (from) is a member; action accept (list default)\n"}},
		{name: "stranger held",
			test: `client = "192.0.2.7"` + "\nfrom = \"eve@example.com\"\nto = [\"team@lists.example.org\"]\n" +
				"expect = \"held\"\nexpect_rule = \"nonmember-moderation\"",
			passed: true, actual: Outcome{Held, "", "unknown", 250, lists.RuleNonmemberModeration},
			inTrail: []string{"rule: member-moderation: miss", "rule: nonmember-moderation: hit"}},
		{name: "stranger expected to be distributed",
			test: `client = "192.0.2.7"` + "\nfrom = \"eve@example.com\"\nto = [\"team@lists.example.org\"]\n" +
				"expect = \"accepted\"",
			passed: false, actual: Outcome{Held, "", "unknown", 250, lists.RuleNonmemberModeration},
			inTrail: []string{"rule: nonmember-moderation: hit"}},
		{name: "member without a subject",
			test: "from = \"ann@example.net\"\nto = [\"team@lists.example.org\"]\n" +
				"message = \"From: ann@example.net\\nTo: team@lists.example.org\\n\\nno subject\\n\"\n" +
				"expect = \"accepted\"\nexpect_rule = \"member-moderation\"",
			passed: true, actual: Outcome{Accepted, "", "unknown", 250, lists.RuleMemberModeration}},
		{name: "expected rule differs",
			test: `client = "192.0.2.7"` + "\nfrom = \"eve@example.com\"\nto = [\"team@lists.example.org\"]\n" +
				"expect = \"held\"\nexpect_rule = \"member-moderation\"",
			passed: false, actual: Outcome{Held, "", "unknown", 250, lists.RuleNonmemberModeration}},
		{name: "unknown list refused",
			test:   `client = "192.0.2.7"` + "\nto = [\"nosuch@lists.example.org\"]\nexpect = \"refused\"\nexpect_code = 550",
			passed: true, actual: Outcome{Refused, "", "unknown", 550, ""},
			reply:   "550 5.1.1 <nosuch@lists.example.org>: No such list or address",
			inTrail: []string{"list: <nosuch@lists.example.org> is on list domain lists.example.org, and no list has that address (lists.domains)"}},
		{name: "owner address takes no chain",
			test:   `client = "192.0.2.7"` + "\nto = [\"team-owner@lists.example.org\"]\nexpect = \"accepted\"",
			passed: true, actual: Outcome{Accepted, "", "unknown", 250, ""},
			inTrail: []string{"list: <team-owner@lists.example.org> is the owner address of list team@lists.example.org"}},
		{name: "outside recipient still needs trust",
			test:   `client = "192.0.2.7"` + "\nto = [\"team@lists.example.org\", \"x@example.com\"]\nexpect = \"refused\"",
			passed: true, actual: Outcome{Refused, "", "unknown", 554, ""},
			reply: "554 5.7.1 <x@example.com>: Relay access denied"},
		{name: "list and outside recipient from a trusted client",
			test:   "from = \"ann@example.net\"\nto = [\"team@lists.example.org\", \"x@example.com\"]\nexpect = \"accepted\"",
			passed: true, actual: Outcome{Accepted, "", "unknown", 250, lists.RuleMemberModeration},
			inTrail: []string{"route: upstreams in failover order: mx1.example.org:25"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := load(t, listsDoc+"[[test]]\nname = \"x\"\n"+c.test+"\n")
			opts := casesOnly()
			opts.Lists = st
			res := Run(context.Background(), cfg, opts)
			if len(res.Cases) != 1 {
				t.Fatalf("%d cases", len(res.Cases))
			}
			got := res.Cases[0]
			trail := trailText(got.Trail)
			if got.Err != nil {
				t.Fatalf("case error: %v\n%s", got.Err, trail)
			}
			if got.Passed != c.passed || got.Actual != c.actual {
				t.Errorf("passed %v, actual %+v; want %v, %+v\n%s", got.Passed, got.Actual, c.passed, c.actual, trail)
			}
			reply := ""
			if got.Reply != nil {
				reply = got.Reply.Error()
			}
			if reply != c.reply {
				t.Errorf("reply %q, want %q", reply, c.reply)
			}
			for _, want := range c.inTrail {
				if !strings.Contains(trail, want) {
					t.Errorf("trail lacks %q:\n%s", want, trail)
				}
			}
		})
	}
}

func TestListCaseFailureOutput(t *testing.T) {
	t.Parallel()
	st := listData(t, nil)
	cfg := load(t, listsDoc+"[[test]]\nname = \"strangers reach the list\"\nclient = \"192.0.2.7\"\n"+
		"from = \"eve@example.com\"\nto = [\"team@lists.example.org\"]\nexpect = \"accepted\"\n")
	opts := casesOnly()
	opts.Lists = st
	res := Run(context.Background(), cfg, opts)
	if !res.Failed() {
		t.Fatal("the failing case did not fail the configuration")
	}
	var out bytes.Buffer
	if err := res.Write(&out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`FAIL test "strangers reach the list": expected accepted, got held by rule nonmember-moderation` + "\n",
		"    rule: member-moderation: miss\n",
		"    rule: nonmember-moderation: hit (",
		"    list: team@lists.example.org: held by rule nonmember-moderation: ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestListCaseErrors(t *testing.T) {
	t.Parallel()
	doc := listsDoc + "[[test]]\nname = \"x\"\nto = [\"team@lists.example.org\"]\nexpect = \"held\"\nexpect_rule = \"nonsense\"\n"
	res := Run(context.Background(), load(t, doc), casesOnly())
	if c := res.Cases[0]; c.Err == nil || !strings.Contains(c.Err.Error(), `expect_rule "nonsense" is not a rule`) {
		t.Errorf("unknown rule: err %v", c.Err)
	}
	// No list data at all: every list address is unknown.
	doc = listsDoc + "[[test]]\nname = \"x\"\nto = [\"team@lists.example.org\"]\nexpect = \"refused\"\nexpect_code = 550\n"
	res = Run(context.Background(), load(t, doc), casesOnly())
	if c := res.Cases[0]; !c.Passed {
		t.Errorf("without list data: %+v %v\n%s", c.Actual, c.Err, trailText(c.Trail))
	}
}

func TestListInvariant(t *testing.T) {
	t.Parallel()
	find := func(res Result) InvariantResult {
		i := slices.IndexFunc(res.Invariants, func(r InvariantResult) bool { return r.Name == ListMembersCanPost })
		if i < 0 {
			t.Fatalf("invariant %s did not run", ListMembersCanPost)
		}
		return res.Invariants[i]
	}
	sound := listData(t, nil)
	if inv := find(Run(context.Background(), load(t, listsDoc), Options{Lists: sound})); !inv.Held() {
		t.Errorf("default list: %q", inv.Problems)
	}

	holding := listData(t, func(ctx context.Context, st *lists.Store) {
		set := lists.DefaultSettings("team")
		set.DefaultMemberAction = lists.Hold
		if _, _, err := st.ChangeSettings(ctx, "team@lists.example.org", set,
			lists.Change{Author: "test", Reason: "announce only", Confirm: true}); err != nil {
			t.Fatal(err)
		}
	})
	res := Run(context.Background(), load(t, listsDoc), Options{Lists: holding})
	inv := find(res)
	if inv.Severity != Warning {
		t.Errorf("severity %v, want warning", inv.Severity)
	}
	want := "list team@lists.example.org: a plain post from member member-check@posthorn.invalid is held by rule member-moderation"
	if !slices.ContainsFunc(inv.Problems, func(p string) bool { return strings.Contains(p, want) }) {
		t.Errorf("problems %q, want one containing %q", inv.Problems, want)
	}
	if res.Failed() {
		t.Errorf("a warning refused the configuration: %q", res.Failures())
	}
	var out bytes.Buffer
	if err := res.Write(&out, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "WARN invariant "+ListMembersCanPost+": "+want) {
		t.Errorf("output lacks the warning:\n%s", out.String())
	}

	// A list whose domain is not served.
	other := load(t, base+"[lists]\ndomains = [\"other.example.org\"]\n")
	if inv := find(Run(context.Background(), other, Options{Lists: sound})); !slices.ContainsFunc(inv.Problems,
		func(p string) bool { return strings.Contains(p, "lists.example.org is not in lists.domains") }) {
		t.Errorf("unserved domain: %q", inv.Problems)
	}
}
