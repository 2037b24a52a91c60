package lists

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestPrefixSuccessor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"ab", "ac", true},
		{"a", "b", true},
		{"", "", false},
		{"a\xff", "b", true},
		{"a\xff\xff", "b", true},
		{"\xff\xff", "", false},
		{"m0999", "m099:", true},
		{"é", "\xc3\xaa", true}, // é is C3 A9
		{"a@", "aA", true},
	} {
		got, ok := prefixSuccessor(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("prefixSuccessor(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestPrefixQueryPlan(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	for _, q := range []MemberQuery{
		{Prefix: "ann"},
		{Prefix: "ann", Role: RoleMember},
		{Prefix: "ann", After: encodeCursor("ann@x", "member")},
		{Prefix: "\xff", Role: RoleOwner, After: encodeCursor("ann@x", "member")},
	} {
		where := []string{"list_id = ?"}
		args := []any{int64(1)}
		if q.Role != "" {
			where, args = append(where, "role = ?"), append(args, string(q.Role))
		}
		if q.After != "" {
			where, args = append(where, "(addr_key, role) > (?, ?)"), append(args, "ann@x", "member")
		}
		query, qargs := prefixQuery(where, args, q.Prefix, 101)
		rows, err := f.s.db.Query(`EXPLAIN QUERY PLAN `+query, qargs...)
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
		if strings.Contains(all, "SCAN members") || !strings.Contains(all, "USING INDEX members_name (list_id=? AND <expr>>") ||
			strings.Count(all, "SEARCH members USING") != 2 {
			t.Errorf("%+v: plan %s", q, all)
		}
	}
}

// walk returns every member q selects, page by page, and checks that the
// walk ends.
func walk(t *testing.T, f *fixture, q MemberQuery) []*Member {
	t.Helper()
	var out []*Member
	for range 1000 {
		page, err := f.s.Members(context.Background(), testList, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Members) > max(q.Limit, 1) {
			t.Fatalf("page of %d for limit %d", len(page.Members), q.Limit)
		}
		out = append(out, page.Members...)
		if page.Next == "" {
			return out
		}
		q.After = page.Next
	}
	t.Fatal("walk does not end")
	return nil
}

func keys(ms []*Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s/%s", addrKey(m.Address), m.Role))
	}
	return out
}

func TestMembersPrefixWalk(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	var nms []NewMember
	for i := range 60 {
		nms = append(nms, NewMember{Address: fmt.Sprintf("ann%02d@example.org", i)})
	}
	nms = append(nms,
		NewMember{Address: "An@example.org"}, NewMember{Address: "anm@example.org"}, NewMember{Address: "ano@example.org"},
		NewMember{Address: "ANN@example.org"}, NewMember{Address: "bob@example.org", DisplayName: "Annabel Bob"},
		NewMember{Address: "zed@example.org", DisplayName: "ann lowercase"},
		NewMember{Address: "ann.both@example.org", DisplayName: "Ann Both"},
		NewMember{Address: "carl@example.org", DisplayName: "Carl Ann"},
		NewMember{Address: "ann05@example.org", Role: RoleOwner},
		NewMember{Address: "bob@example.org", DisplayName: "Annabel Bob", Role: RoleModerator},
		NewMember{Address: "é@example.org", DisplayName: "Éric"},
		NewMember{Address: "\u00e9t\u00e9@example.org"},
	)
	for i := range 40 {
		nms = append(nms, NewMember{Address: fmt.Sprintf("x%02d@example.org", i), DisplayName: fmt.Sprintf("Anne %02d", i)})
	}
	if res, err := f.s.AddMembers(ctx, testList, nms); err != nil {
		t.Fatal(err)
	} else {
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	all := walk(t, f, MemberQuery{Limit: 1000})
	if len(all) != len(nms) {
		t.Fatalf("%d rows, added %d", len(all), len(nms))
	}
	for _, c := range []struct {
		q    MemberQuery
		want int // rows expected (also checked against a filter of all rows)
	}{
		{MemberQuery{Prefix: "ann"}, 60 + 1 + 1 + 2 + 1 + 1 + 40},
		{MemberQuery{Prefix: "ANN"}, 106},
		{MemberQuery{Prefix: "ann0"}, 11},
		{MemberQuery{Prefix: "ann", Role: RoleMember}, 104},
		{MemberQuery{Prefix: "ann", Role: RoleModerator}, 1},
		{MemberQuery{Prefix: "ann", Search: "0"}, 15 + 1 + 13}, // ann?0, ann0?, the owner ann05, x?0, x0?
		{MemberQuery{Prefix: "an"}, 109},
		{MemberQuery{Prefix: "anne"}, 40},
		{MemberQuery{Prefix: "é"}, 2},
		{MemberQuery{Prefix: "É"}, 2},    // addresses fold in Unicode; "Éric" also matches by name
		{MemberQuery{Prefix: "éric"}, 0}, // names fold in ASCII only
		{MemberQuery{Prefix: "zzz"}, 0},
		{MemberQuery{Prefix: "\xff"}, 0},
		{MemberQuery{Prefix: "ann99"}, 0},
	} {
		lp, np := strings.ToLower(c.q.Prefix), asciiLower(c.q.Prefix)
		var want []*Member
		for _, m := range all {
			if (c.q.Role == "" || m.Role == c.q.Role) &&
				(strings.HasPrefix(addrKey(m.Address), lp) || strings.HasPrefix(asciiLower(m.DisplayName), np)) &&
				(c.q.Search == "" || strings.Contains(addrKey(m.Address), c.q.Search) || strings.Contains(strings.ToLower(m.DisplayName), c.q.Search)) {
				want = append(want, m)
			}
		}
		for _, limit := range []int{1, 3, 7, 100, 1000} {
			q := c.q
			q.Limit = limit
			got := walk(t, f, q)
			if g, w := strings.Join(keys(got), " "), strings.Join(keys(want), " "); g != w {
				t.Errorf("%+v: got\n%s\nwant\n%s", q, g, w)
			}
		}
		if len(want) != c.want {
			t.Errorf("%+v: the filter finds %d rows, want %d", c.q, len(want), c.want)
		}
	}
}
