package lists

import (
	"context"
	"testing"
)

func TestRolesOf(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	f.addMember(t, "ann@example.org", RoleMember, nil)
	f.addMember(t, "ann@example.org", RoleOwner, nil)
	f.addMember(t, "mo@example.org", RoleModerator, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		addr                     string
		owner, moderator, member bool
	}{
		{"ann@example.org", true, false, true},
		{"ANN@EXAMPLE.ORG", true, false, true},
		{"mo@example.org", false, true, false},
		{"eve@example.org", false, false, false},
		{"not an address", false, false, false},
	} {
		r, err := f.s.RolesOf(ctx, testList, tc.addr)
		if err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		if r.Owner != tc.owner || r.Moderator != tc.moderator || (r.Member != nil) != tc.member || r.Any() != (tc.owner || tc.moderator || tc.member) {
			t.Errorf("%s: %+v", tc.addr, r)
		}
	}
	if r, err := f.s.RolesOf(ctx, "nolist@lists.example.org", "ann@example.org"); err != nil || r.Any() {
		t.Errorf("unknown list: %+v %v", r, err)
	}
}
