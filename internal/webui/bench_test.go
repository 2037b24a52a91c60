package webui

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

// BenchmarkMembersPage measures the server time of the members page of a
// list with 100,000 members: the first page, a page 50,000 rows deep (by
// cursor), and a search (a substring match, which scans the list's rows).
func BenchmarkMembersPage(b *testing.B) {
	f := newFixture(b)
	addMany(b, f.st, testList, 100_000)
	ctx := context.Background()
	cursor := ""
	for range 50 {
		page, err := f.st.Members(ctx, testList, lists.MemberQuery{After: cursor, Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		cursor = page.Next
	}
	ow := viewer(owner)
	for _, bc := range []struct{ name, target string }{
		{"first", lp("members")},
		{"deep", lp("members?after=" + url.QueryEscape(cursor))},
		{"search", lp("members?q=m0999")},
		{"role", lp("members?role=owner")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if w := f.do(b, ow, "GET", bc.target, nil); w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
