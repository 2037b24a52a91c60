package listapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// listJSON is a list as GET /api/v1/lists shows it.
type listJSON struct {
	Address     string `json:"address"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	Advertised  bool   `json:"advertised"`
	// Roles are the viewer's role rows on the list.
	Roles []string `json:"roles"`
}

// listInfo is GET /api/v1/lists/{list}.
type listInfo struct {
	listJSON
	Created   time.Time `json:"created"`
	SiteAdmin bool      `json:"site_admin"`
	// May says what the viewer may do through this API.
	May struct {
		Moderate   bool `json:"moderate"`
		Administer bool `json:"administer"`
	} `json:"may"`
	Members int `json:"members"` // rows with role member
	// Rev changes on every change to the list; PATCH settings accepts it
	// to refuse a change based on an older read.
	Rev int64 `json:"rev"`
	// Settings are shown to owners and site admins only, as the settings
	// page is; the values are in the form PATCH settings takes.
	Settings map[string]json.RawMessage `json:"settings,omitempty"`
}

func listOf(acc *access) listJSON {
	l := acc.List
	return listJSON{Address: l.Address(), DisplayName: l.DisplayName, Description: l.Description,
		Advertised: l.Settings.Advertised, Roles: acc.roles()}
}

// settingsJSON is every setting of set by its JSON name.
func settingsJSON(set lists.Settings) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, sv := range lists.SettingValues(set) {
		out[sv.Field] = json.RawMessage(sv.Value)
	}
	return out
}

// index lists the lists the viewer may see, as the web UI's index does:
// the advertised ones and those the viewer has a role on (a site admin:
// every list).
func (a *API) index(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := web.ViewerFrom(ctx)
	if v == nil {
		unauthorized(w)
		return
	}
	all, err := a.o.Lists.Lists(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []listJSON{}
	for _, l := range all {
		acc, err := a.accessTo(ctx, v, l)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if (!l.Settings.Advertised || a.private(l)) && !acc.any() {
			continue
		}
		out = append(out, listOf(acc))
	}
	writeJSON(w, http.StatusOK, map[string]any{"lists": out})
}

// info shows a list, with its settings for its owners.
func (a *API) info(w http.ResponseWriter, r *http.Request, acc *access) {
	n, err := a.o.Lists.CountMembers(r.Context(), acc.List.Address(), lists.RoleMember)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := listInfo{listJSON: listOf(acc), Created: acc.List.Created.UTC(), SiteAdmin: acc.Viewer.SiteAdmin,
		Members: n, Rev: acc.List.Rev}
	d.May.Moderate, d.May.Administer = acc.Moderator, acc.Owner
	if acc.Owner {
		d.Settings = settingsJSON(acc.List.Settings)
	}
	writeJSON(w, http.StatusOK, d)
}
