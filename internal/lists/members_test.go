package lists

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestMemberCRUDAndRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	m, err := f.s.AddMember(ctx, testList, NewMember{Address: "Ann <Ann@Example.ORG>"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Address != "Ann@example.org" || m.DisplayName != "Ann" || m.Role != RoleMember || m.Delivery != DeliveryEnabled ||
		m.Moderation != nil || !m.Created.Equal(f.clock.Now()) || m.List != testList {
		t.Fatalf("%+v", m)
	}
	// Same address, other case: exists. Same address as owner: fine.
	var ex *ExistsError
	if _, err := f.s.AddMember(ctx, testList, NewMember{Address: "ann@EXAMPLE.org"}); !errors.As(err, &ex) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := f.s.AddMember(ctx, testList, NewMember{Address: "ann@example.org", Role: RoleOwner}); err != nil {
		t.Fatal(err)
	}
	var inv *InvalidError
	if _, err := f.s.AddMember(ctx, testList, NewMember{Address: "x@example.org", Role: "king"}); !errors.As(err, &inv) {
		t.Fatalf("bad role: %v", err)
	}
	if err := f.s.SetDelivery(ctx, testList, "ANN@example.org", DeliveryDisabledBounce); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetModeration(ctx, testList, "ann@example.org", RoleMember, act(Hold)); err != nil {
		t.Fatal(err)
	}
	m, err = f.s.GetMember(ctx, testList, "ann@example.org", RoleMember)
	if err != nil || m.Delivery != DeliveryDisabledBounce || m.Moderation == nil || *m.Moderation != Hold {
		t.Fatalf("%+v %v", m, err)
	}
	if err := f.s.SetModeration(ctx, testList, "ann@example.org", RoleMember, nil); err != nil {
		t.Fatal(err)
	}
	if m, _ = f.s.GetMember(ctx, testList, "ann@example.org", RoleMember); m.Moderation != nil {
		t.Fatalf("moderation not cleared: %v", *m.Moderation)
	}
	if err := f.s.SetDelivery(ctx, testList, "ann@example.org", "paused"); !errors.As(err, &inv) {
		t.Fatalf("bad delivery: %v", err)
	}
	if n, _ := f.s.CountMembers(ctx, testList, ""); n != 2 {
		t.Fatalf("count all = %d", n)
	}
	// Unsubscribing keeps the owner role.
	if err := f.s.Unsubscribe(ctx, testList, "ann@example.org"); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.s.CountMembers(ctx, testList, RoleMember); n != 0 {
		t.Fatalf("members = %d", n)
	}
	if _, err := f.s.GetMember(ctx, testList, "ann@example.org", RoleOwner); err != nil {
		t.Fatal(err)
	}
	var nf *NotFoundError
	if err := f.s.Unsubscribe(ctx, testList, "ann@example.org"); !errors.As(err, &nf) {
		t.Fatalf("second unsubscribe: %v", err)
	}
	if _, err := f.s.AddMember(ctx, "nope@lists.example.org", NewMember{Address: "a@b.example"}); !errors.As(err, &nf) {
		t.Fatalf("no list: %v", err)
	}
}

func TestBulkAddRemove10k(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	f.addMember(t, "m00042@example.org", RoleMember, nil) // already there
	var nms []NewMember
	for i := range 10000 {
		nms = append(nms, NewMember{Address: fmt.Sprintf("M%05d@Example.org", i)})
	}
	nms = append(nms, NewMember{Address: "broken"}, NewMember{Address: "m00001@example.org"}) // invalid, duplicate in batch
	res, err := f.s.AddMembers(ctx, testList, nms)
	if err != nil {
		t.Fatal(err)
	}
	var added, exists, invalid int
	for _, r := range res {
		var ex *ExistsError
		var inv *InvalidError
		switch {
		case r.Err == nil:
			added++
		case errors.As(r.Err, &ex):
			exists++
		case errors.As(r.Err, &inv):
			invalid++
		default:
			t.Fatalf("%s: %v", r.Address, r.Err)
		}
	}
	if added != 9999 || exists != 2 || invalid != 1 {
		t.Fatalf("added %d exists %d invalid %d", added, exists, invalid)
	}
	if n, _ := f.s.CountMembers(ctx, testList, RoleMember); n != 10000 {
		t.Fatalf("count = %d", n)
	}
	var addrs []string
	for i := range 5000 {
		addrs = append(addrs, fmt.Sprintf("m%05d@EXAMPLE.org", i*2))
	}
	addrs = append(addrs, "ghost@example.org")
	res, err = f.s.RemoveMembers(ctx, testList, addrs, RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	var nf *NotFoundError
	if !errors.As(res[len(res)-1].Err, &nf) || res[0].Err != nil {
		t.Fatalf("results %v ... %v", res[0], res[len(res)-1])
	}
	if n, _ := f.s.CountMembers(ctx, testList, RoleMember); n != 5000 {
		t.Fatalf("count after remove = %d", n)
	}
}

// A bulk add whose list vanished adds nothing (one transaction).
func TestBulkAddAllOrNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.s.AddMembers(ctx, testList, []NewMember{{Address: "a@example.org"}, {Address: "b@example.org"}}); err == nil {
		t.Fatal("cancelled bulk add succeeded")
	}
	if n, _ := f.s.CountMembers(context.Background(), testList, ""); n != 0 {
		t.Fatalf("count = %d", n)
	}
}

func TestMembersPagination(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	var nms []NewMember
	for i := range 250 {
		nms = append(nms, NewMember{Address: fmt.Sprintf("user%03d@example.org", i), DisplayName: fmt.Sprintf("User %d", i)})
	}
	nms = append(nms, NewMember{Address: "user007@example.org", Role: RoleOwner}, NewMember{Address: "zed@example.org", DisplayName: "Alice Zed"})
	if _, err := f.s.AddMembers(ctx, testList, nms); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	after, pages := "", 0
	var prev string
	for range 100 { // bounded
		page, err := f.s.Members(ctx, testList, MemberQuery{After: after, Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range page.Members {
			k := m.Address + "/" + string(m.Role)
			if seen[k] {
				t.Fatalf("%s twice", k)
			}
			seen[k] = true
			if cur := addrKey(m.Address) + "\x00" + string(m.Role); cur <= prev {
				t.Fatalf("out of order: %q after %q", cur, prev)
			} else {
				prev = cur
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(seen) != 252 || pages != 7 {
		t.Fatalf("seen %d in %d pages", len(seen), pages)
	}
	// Role filter and search (address or display name, case-insensitive).
	page, err := f.s.Members(ctx, testList, MemberQuery{Role: RoleOwner})
	if err != nil || len(page.Members) != 1 || page.Members[0].Address != "user007@example.org" {
		t.Fatalf("%+v %v", page, err)
	}
	page, err = f.s.Members(ctx, testList, MemberQuery{Search: "USER 12"})
	if err != nil || len(page.Members) != 11 { // 12, 120..129
		t.Fatalf("search by name: %d %v", len(page.Members), err)
	}
	page, err = f.s.Members(ctx, testList, MemberQuery{Search: "alice"})
	if err != nil || len(page.Members) != 1 || page.Members[0].Address != "zed@example.org" {
		t.Fatalf("%+v %v", page, err)
	}
	page, err = f.s.Members(ctx, testList, MemberQuery{Search: "user1", Limit: 5})
	if err != nil || len(page.Members) != 5 || page.Next == "" {
		t.Fatalf("%+v %v", page, err)
	}
	var inv *InvalidError
	if _, err := f.s.Members(ctx, testList, MemberQuery{After: "%%%"}); !errors.As(err, &inv) {
		t.Fatalf("bad cursor: %v", err)
	}
}
