package lists

import (
	"context"
	"errors"
)

// Roles are the role rows one address holds on one list.
type Roles struct {
	Owner     bool
	Moderator bool
	// Member is the address's member row (role member); nil when it has
	// none.
	Member *Member
}

// Any reports whether the address holds any role on the list.
func (r Roles) Any() bool { return r.Owner || r.Moderator || r.Member != nil }

// RolesOf returns the role rows addr holds on list. An address that is
// not valid holds none; only a failure to read the store is an error.
// The web pages and the API derive what a viewer may do from it.
func (s *Store) RolesOf(ctx context.Context, list, addr string) (Roles, error) {
	var r Roles
	for _, role := range []Role{RoleOwner, RoleModerator, RoleMember} {
		m, err := s.GetMember(ctx, list, addr, role)
		var nf *NotFoundError
		var inv *InvalidError
		switch {
		case errors.As(err, &nf) || errors.As(err, &inv):
			continue
		case err != nil:
			return Roles{}, err
		}
		switch role {
		case RoleOwner:
			r.Owner = true
		case RoleModerator:
			r.Moderator = true
		case RoleMember:
			r.Member = m
		}
	}
	return r, nil
}
