package webui

import (
	"context"
	"errors"
	"net/http"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// need is the least access a page requires.
type need int

const (
	needPublic    need = iota // anybody, logged in or not
	needMember                // the viewer is a member (role member) of the list
	needModerator             // moderator or owner of the list, or site admin
	needOwner                 // owner of the list, or site admin
)

// access is what the viewer of a request may do on one list.
type access struct {
	Viewer    *web.Viewer
	List      *lists.List
	Owner     bool // owner pages (implies Moderator)
	Moderator bool // moderator pages
	Member    bool // has a member row (their own subscription)
	// Self is the viewer's member row when Member.
	Self *lists.Member
	// CSRF is the token the page's forms carry.
	CSRF string
}

// Email is the viewer's address, "" for an anonymous reader.
func (a *access) Email() string {
	if a.Viewer == nil {
		return ""
	}
	return a.Viewer.Email
}

// SiteAdmin reports whether the viewer administers the whole site.
func (a *access) SiteAdmin() bool { return a.Viewer != nil && a.Viewer.SiteAdmin }

// any reports whether the viewer has any role on the list.
func (a *access) any() bool { return a.Owner || a.Moderator || a.Member }

func (a *access) allows(n need) bool {
	switch n {
	case needPublic:
		return true
	case needMember:
		return a.Member
	case needModerator:
		return a.Moderator
	case needOwner:
		return a.Owner
	}
	return false
}

// accessTo computes the viewer's access to l from the lists store.
func (u *UI) accessTo(ctx context.Context, v *web.Viewer, l *lists.List) (*access, error) {
	a := &access{Viewer: v, List: l, CSRF: web.CSRFToken(ctx)}
	if v == nil {
		return a, nil
	}
	if v.SiteAdmin {
		a.Owner, a.Moderator = true, true
	}
	if v.Email == "" {
		return a, nil
	}
	r, err := u.o.Lists.RolesOf(ctx, l.Address(), v.Email)
	if err != nil {
		return nil, err
	}
	a.Owner = a.Owner || r.Owner
	a.Moderator = a.Moderator || r.Owner || r.Moderator
	a.Member, a.Self = r.Member != nil, r.Member
	return a, nil
}

// private reports whether l is hidden from viewers without a role on it.
func (u *UI) private(l *lists.List) bool { return u.o.Private != nil && u.o.Private(l) }

// page wraps a list handler: it loads the list named by {list}, computes
// the viewer's access and refuses the request below n.
func (u *UI) page(n need, h func(http.ResponseWriter, *http.Request, *access)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l, err := u.o.Lists.GetList(r.Context(), r.PathValue("list"))
		var nf *lists.NotFoundError
		var inv *lists.InvalidError
		if errors.As(err, &nf) || errors.As(err, &inv) {
			u.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such list.")
			return
		}
		if err != nil {
			u.fail(w, r, err)
			return
		}
		a, err := u.accessTo(r.Context(), web.ViewerFrom(r.Context()), l)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		if u.private(l) && !a.any() {
			u.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such list.")
			return
		}
		if !a.allows(n) {
			msg := "You may not see this page of " + l.Address() + "."
			if a.Viewer == nil {
				msg += " Log in first."
			}
			u.o.Renderer.Error(w, r, http.StatusForbidden, msg)
			return
		}
		h(w, r, a)
	}
}

// nav is the breadcrumb trail of a list page called title ("" for the
// overview itself).
func nav(a *access, title string) []web.Link {
	out := []web.Link{{Text: "Lists", Href: "/lists"}}
	if title == "" {
		return append(out, web.Link{Text: a.List.Address()})
	}
	return append(out, web.Link{Text: a.List.Address(), Href: listPath(a.List.Address(), "")}, web.Link{Text: title})
}
