package lists

import (
	"context"
	"testing"
)

// The search box of the members page on a 100,000-member list, for a
// string that matches 100 addresses near the end of the list
// (m099900..m099999): a substring search scans every row of the list; a
// prefix search walks the index range of the matches.
func BenchmarkMembersSearchSubstring100k(b *testing.B) {
	f := benchFixture(b, 100000)
	ctx := context.Background()
	for b.Loop() {
		page, err := f.s.Members(ctx, testList, MemberQuery{Search: "m0999", Limit: 50})
		if err != nil || len(page.Members) != 50 {
			b.Fatal(len(page.Members), err)
		}
	}
}

func BenchmarkMembersSearchPrefix100k(b *testing.B) {
	f := benchFixture(b, 100000)
	ctx := context.Background()
	for b.Loop() {
		page, err := f.s.Members(ctx, testList, MemberQuery{Prefix: "m0999", Limit: 50})
		if err != nil || len(page.Members) != 50 {
			b.Fatal(len(page.Members), err)
		}
	}
}

// A one-letter prefix that every address matches: the address range
// stops after one page.
func BenchmarkMembersSearchPrefixShort100k(b *testing.B) {
	f := benchFixture(b, 100000)
	ctx := context.Background()
	for b.Loop() {
		page, err := f.s.Members(ctx, testList, MemberQuery{Prefix: "m", Limit: 50})
		if err != nil || len(page.Members) != 50 {
			b.Fatal(len(page.Members), err)
		}
	}
}
