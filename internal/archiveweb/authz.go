package archiveweb

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// access is what the viewer of a request may do on one list's archive.
type access struct {
	Viewer  *web.Viewer
	List    *lists.List
	Private bool // the archive is private
	// Role: the viewer is a member, moderator or owner of the list, or a
	// site admin; such viewers see full addresses.
	Role bool
	// Owner: owner of the list or site admin; may delete messages.
	Owner bool
	CSRF  string
}

// Address is the list's posting address.
func (a *access) Address() string { return a.List.Address() }

// canRead reports whether the viewer may read the archive.
func (a *access) canRead() bool { return !a.Private || a.Role }

// cacheable lets a shared cache keep a public archive's page for an
// anonymous reader for a minute.
func (a *access) cacheable(w http.ResponseWriter) {
	if a == nil || a.Private || a.Viewer != nil {
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Vary", "Cookie")
}

// accessTo computes the viewer's access to l from the lists store.
func (h *Handler) accessTo(ctx context.Context, v *web.Viewer, l *lists.List) (*access, error) {
	a := &access{Viewer: v, List: l, Private: h.o.Private(l), CSRF: web.CSRFToken(ctx)}
	if v == nil {
		return a, nil
	}
	if v.SiteAdmin {
		a.Role, a.Owner = true, true
		return a, nil
	}
	if v.Email == "" {
		return a, nil
	}
	r, err := h.o.Lists.RolesOf(ctx, l.Address(), v.Email)
	if err != nil {
		return nil, err
	}
	a.Role, a.Owner = r.Any(), r.Owner
	return a, nil
}

// resolveList finds the list a URL names: its posting address or, when
// exactly one list has it, its name.
func (h *Handler) resolveList(ctx context.Context, word string) (*lists.List, error) {
	if strings.Contains(word, "@") {
		return h.o.Lists.GetList(ctx, word)
	}
	all, err := h.o.Lists.Lists(ctx)
	if err != nil {
		return nil, err
	}
	var found *lists.List
	for _, l := range all {
		if strings.EqualFold(l.Name, word) {
			if found != nil {
				return nil, &lists.NotFoundError{What: "list", Key: word}
			}
			found = l
		}
	}
	if found == nil {
		return nil, &lists.NotFoundError{What: "list", Key: word}
	}
	return found, nil
}

// page wraps an archive handler: it resolves {list}, computes the viewer's
// access and refuses a reader who may not read the archive.
func (h *Handler) page(next func(http.ResponseWriter, *http.Request, *access)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		word := r.PathValue("list")
		l, err := h.resolveList(r.Context(), word)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if l.Address() != word && r.Method == http.MethodGet {
			// A short name or different case: the canonical address.
			target := "/archive/" + url.PathEscape(l.Address()) + strings.TrimPrefix(r.URL.EscapedPath(), "/archive/"+url.PathEscape(word))
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		a, err := h.accessTo(r.Context(), web.ViewerFrom(r.Context()), l)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !h.allowed(w, r, a) {
			return
		}
		next(w, r, a)
	}
}

// allowed answers a reader who may not read a's archive: anonymous
// readers are sent to the login page, others get 403.
func (h *Handler) allowed(w http.ResponseWriter, r *http.Request, a *access) bool {
	if a.canRead() {
		return true
	}
	if a.Viewer == nil {
		next := r.URL.RequestURI()
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return false
	}
	h.o.Renderer.Error(w, r, http.StatusForbidden,
		"The archive of "+a.Address()+" is open to its members only.")
	return false
}

// readable returns the lists whose archives the viewer may read and that
// are advertised (or on which the viewer has a role), each with the
// viewer's access, and whether that is every list.
func (h *Handler) readable(ctx context.Context, v *web.Viewer) ([]*access, bool, error) {
	all, err := h.o.Lists.Lists(ctx)
	if err != nil {
		return nil, false, err
	}
	every := true
	var out []*access
	for _, l := range all {
		a, err := h.accessTo(ctx, v, l)
		if err != nil {
			return nil, false, err
		}
		if !a.canRead() || (!l.Settings.Advertised && !a.Role) {
			every = false
			continue
		}
		out = append(out, a)
	}
	return out, every, nil
}
