package lists

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// fill adds n members m000000@example.org ... in batches.
func fill(tb testing.TB, f *fixture, n int) {
	tb.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += 10000 {
		var nms []NewMember
		for i := start; i < min(start+10000, n); i++ {
			nms = append(nms, NewMember{Address: fmt.Sprintf("m%06d@example.org", i)})
		}
		if _, err := f.s.AddMembers(ctx, testList, nms); err != nil {
			tb.Fatal(err)
		}
	}
}

func benchFixture(b *testing.B, n int) *fixture {
	b.Helper()
	f := newFixture(b)
	f.newList(b, nil)
	fill(b, f, n)
	return f
}

func BenchmarkDecideMember100k(b *testing.B) {
	f := benchFixture(b, 100000)
	p := post(b, "m054321@example.org", "From: M <m054321@example.org>", "To: "+testList, "Subject: s", "Message-ID: <b@x>", "", "hello", "")
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if d := f.chain.Decide(ctx, testList, p); d.Action != Accept {
			b.Fatal(d.Reason)
		}
	}
}

func BenchmarkEvaluateNonmemberAllRules100k(b *testing.B) {
	f := benchFixture(b, 100000)
	ctx := context.Background()
	l, _ := f.s.GetList(ctx, testList)
	set := l.Settings
	set.DefaultNonmemberAction = Defer
	set.BannedAddresses = []string{`^.*@spam\.example$`, "bad@example.com"}
	set.HeaderMatches = []HeaderMatch{{Header: "X-Spam-Flag", Pattern: "^yes", Action: Discard}}
	if err := f.s.SetSettings(ctx, testList, set); err != nil {
		b.Fatal(err)
	}
	p := post(b, "x@example.net", "From: x@example.net", "To: "+testList, "Subject: s", "", "hello", "")
	b.ResetTimer()
	for b.Loop() {
		if d := f.chain.Evaluate(ctx, testList, p); d.Action != Accept || len(d.Rules) != 13 {
			b.Fatal(d.Reason)
		}
	}
}

func BenchmarkMemberLookup100k(b *testing.B) {
	f := benchFixture(b, 100000)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		addr := fmt.Sprintf("m%06d@example.org", (i*7919)%100000)
		if _, err := f.s.GetMember(ctx, testList, addr, RoleMember); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkMembersDeepPage100k(b *testing.B) {
	f := benchFixture(b, 100000)
	ctx := context.Background()
	after := encodeCursor("m090000@example.org", "member")
	for b.Loop() {
		page, err := f.s.Members(ctx, testList, MemberQuery{After: after, Limit: 100})
		if err != nil || len(page.Members) != 100 {
			b.Fatal(err)
		}
	}
}

// The member queries use an index, never a scan of the members table.
func TestQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	queries := map[string]string{
		"lookup":        `SELECT id FROM members WHERE list_id = 1 AND addr_key = 'a' AND role = 'member'`,
		"roster":        `SELECT addr_key, role, moderation FROM members WHERE list_id = 1 AND addr_key IN ('a','b')`,
		"page":          `SELECT id FROM members WHERE list_id = 1 AND (addr_key, role) > ('a', 'member') ORDER BY addr_key, role LIMIT 101`,
		"page by role":  `SELECT id FROM members WHERE list_id = 1 AND role = 'member' AND (addr_key, role) > ('a', 'member') ORDER BY addr_key, role LIMIT 101`,
		"count by role": `SELECT count(*) FROM members WHERE list_id = 1 AND role = 'member'`,
		"decisions":     `SELECT id FROM decisions WHERE list_id = 1 ORDER BY id DESC LIMIT 10`,
	}
	for name, q := range queries {
		rows, err := f.s.db.Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, " | ")
		if !strings.Contains(all, "INDEX") || strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("%s: plan %q", name, all)
		}
	}
}
