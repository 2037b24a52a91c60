package listapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// need is the least access an endpoint requires. The levels and how they
// are computed are the web UI's (internal/webui/authz.go), so that a token
// may do exactly what its user may do in the list pages.
type need int

const (
	needVisible   need = iota // any logged-in viewer who may see the list
	needModerator             // moderator or owner of the list, or site admin
	needOwner                 // owner of the list, or site admin
)

// access is what the viewer of a request may do on one list.
type access struct {
	Viewer    *web.Viewer
	List      *lists.List
	Owner     bool // implies Moderator
	Moderator bool
	Member    bool // has a member row
	// OwnerRow and ModeratorRow say the viewer has that role row (a site
	// admin has the rights without one).
	OwnerRow, ModeratorRow bool
}

// Email is the viewer's address: the actor of audit entries and the
// author of settings versions.
func (a *access) Email() string { return a.Viewer.Email }

func (a *access) any() bool { return a.Owner || a.Moderator || a.Member }

func (a *access) allows(n need) bool {
	switch n {
	case needVisible:
		return true
	case needModerator:
		return a.Moderator
	case needOwner:
		return a.Owner
	}
	return false
}

// roles names the viewer's roles on the list (site admins have every
// right without a role row; see site_admin).
func (a *access) roles() []string {
	out := []string{}
	if a.OwnerRow {
		out = append(out, string(lists.RoleOwner))
	}
	if a.ModeratorRow {
		out = append(out, string(lists.RoleModerator))
	}
	if a.Member {
		out = append(out, string(lists.RoleMember))
	}
	return out
}

// accessTo computes the viewer's access to l from the lists store.
func (a *API) accessTo(ctx context.Context, v *web.Viewer, l *lists.List) (*access, error) {
	acc := &access{Viewer: v, List: l}
	if v.SiteAdmin {
		acc.Owner, acc.Moderator = true, true
	}
	if v.Email == "" {
		return acc, nil
	}
	r, err := a.o.Lists.RolesOf(ctx, l.Address(), v.Email)
	if err != nil {
		return nil, err
	}
	acc.OwnerRow, acc.ModeratorRow, acc.Member = r.Owner, r.Moderator, r.Member != nil
	acc.Owner = acc.Owner || r.Owner
	acc.Moderator = acc.Moderator || r.Owner || r.Moderator
	return acc, nil
}

func (a *API) private(l *lists.List) bool { return a.o.Private != nil && a.o.Private(l) }

// unauthorized answers a request without a valid token or session.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="posthorn"`)
	writeError(w, http.StatusUnauthorized, "send an API token: Authorization: Bearer TOKEN", "")
}

// on wraps a list endpoint: it requires a viewer (401), loads the list
// named by {list} (404), computes the viewer's access and refuses the
// request below n (403; 404 for a private list the viewer has no role on).
func (a *API) on(n need, h func(http.ResponseWriter, *http.Request, *access)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := web.ViewerFrom(r.Context())
		if v == nil {
			unauthorized(w)
			return
		}
		l, err := a.o.Lists.GetList(r.Context(), r.PathValue("list"))
		var nf *lists.NotFoundError
		var inv *lists.InvalidError
		if errors.As(err, &nf) || errors.As(err, &inv) {
			writeError(w, http.StatusNotFound, "no such list", "")
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		acc, err := a.accessTo(r.Context(), v, l)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if a.private(l) && !acc.any() {
			writeError(w, http.StatusNotFound, "no such list", "")
			return
		}
		if !acc.allows(n) {
			what := "owners"
			if n == needModerator {
				what = "moderators and owners"
			}
			writeError(w, http.StatusForbidden, "only the "+what+" of "+l.Address()+" (and site admins) may do this", "")
			return
		}
		h(w, r, acc)
	}
}
