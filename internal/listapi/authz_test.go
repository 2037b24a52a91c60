package listapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// endpoint is one row of the role table: the request, and the least
// role that may make it (the web UI's rule for the matching page).
type endpoint struct {
	name   string
	method string
	path   func(held int64) string
	body   any
	least  string // member: anybody logged in who may see the list
}

func endpoints() []endpoint {
	fixed := func(p string) func(int64) string { return func(int64) string { return p } }
	heldPath := func(id int64) string { return lp(fmt.Sprintf("held/%d", id)) }
	return []endpoint{
		{"index", "GET", fixed("/api/v1/lists"), nil, other},
		{"list info", "GET", fixed(lp("")), nil, other},
		{"settings", "PATCH", fixed(lp("settings")), map[string]any{"settings": map[string]any{"subject_prefix": "[wt] "}, "reason": "shorter"}, owner},
		{"members", "GET", fixed(lp("members")), nil, owner},
		{"members add", "POST", fixed(lp("members")), map[string]any{"members": []map[string]string{{"address": "new@example.net"}}}, owner},
		{"members remove", "POST", fixed(lp("members/remove")), map[string]any{"members": []map[string]string{{"address": "victim@example.net"}}}, owner},
		{"member delete", "DELETE", fixed(lp("members/victim2@example.net")), nil, owner},
		{"member mode", "PATCH", fixed(lp("members/victim3@example.net")), map[string]any{"mode": "digest", "digest_format": "plain"}, owner},
		{"held", "GET", fixed(lp("held")), nil, moderator},
		{"held post", "GET", heldPath, nil, moderator},
		{"held decide", "POST", heldPath, map[string]any{"action": "defer"}, moderator},
		{"held bulk", "POST", fixed(lp("held")), map[string]any{"ids": []int64{0}, "action": "defer"}, moderator},
		{"decisions", "GET", fixed(lp("decisions")), nil, moderator},
	}
}

// rank orders the roles of the table by what they may do on testList.
func rank(who string) int { return slices.Index(roles(), who) }

// TestRoleTable makes every request as every role, each on a fresh
// server: anonymous 401, below the endpoint's role 403, else 200.
func TestRoleTable(t *testing.T) {
	t.Parallel()
	for _, who := range roles() {
		t.Run(strings.ReplaceAll(who, " ", "_"), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.add(t, testList, "victim@example.net", "member")
			f.add(t, testList, "victim2@example.net", "member")
			f.add(t, testList, "victim3@example.net", "member")
			id := f.hold(t, "stranger@example.net", "held one", post("stranger@example.net", "held one", "hello"))
			for _, ep := range endpoints() {
				body := ep.body
				if m, ok := body.(map[string]any); ok && ep.name == "held bulk" {
					m["ids"] = []int64{id}
				}
				res := f.call(t, who, ep.method, ep.path(id), body)
				want := http.StatusOK
				switch {
				case who == anonymous:
					want = http.StatusUnauthorized
				case rank(who) < rank(ep.least):
					want = http.StatusForbidden
				}
				got := res.Status
				if got != want {
					t.Errorf("%s %s as %s: status %d, want %d: %s", ep.method, ep.name, who, res.Status, want, res.Body)
					continue
				}
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("%s %s as %s: Content-Type %q", ep.method, ep.name, who, ct)
				}
				if want != http.StatusOK {
					if msg, _ := res.JSON(t)["error"].(string); msg == "" {
						t.Errorf("%s %s as %s: no error message: %s", ep.method, ep.name, who, res.Body)
					}
				}
			}
			if rank(who) >= rank(owner) {
				if m, err := f.st.GetMember(t.Context(), testList, "victim3@example.net", "member"); err != nil ||
					m.Mode != "digest" || m.DigestFormat != "plain" {
					t.Errorf("victim3's mode not changed by %s: %+v, %v", who, m, err)
				}
			}
			// Nothing a refused role asked for happened.
			if rank(who) < rank(owner) {
				for _, v := range []string{"victim@example.net", "victim2@example.net"} {
					if _, err := f.st.GetMember(t.Context(), testList, v, "member"); err != nil {
						t.Errorf("%s removed by %s: %v", v, who, err)
					}
				}
				if m, err := f.st.GetMember(t.Context(), testList, "victim3@example.net", "member"); err != nil ||
					m.Mode != "regular" || m.DigestFormat != "mime" {
					t.Errorf("victim3's mode changed by %s: %+v, %v", who, m, err)
				}
				if l, _ := f.st.GetList(t.Context(), testList); l.Settings.SubjectPrefix != "[wikitech-l] " {
					t.Errorf("settings changed by %s: prefix %q", who, l.Settings.SubjectPrefix)
				}
				if n := len(f.audits(t, testList)); n != 0 && rank(who) < rank(moderator) {
					t.Errorf("%d audit entries after refused requests by %s", n, who)
				}
			}
		})
	}
}

func TestBadTokenIs401(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, auth := range []string{"Bearer ph_not-a-token", "Basic dXNlcjpwYXNz", "Bearer "} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/lists", nil)
		req.Header.Set("Authorization", auth)
		if res := f.send(t, req); res.Status != http.StatusUnauthorized {
			t.Errorf("%q: status %d, want 401", auth, res.Status)
		}
	}
	// A revoked token stops working at once.
	ctx := t.Context()
	infos, err := f.acc.APITokens(ctx, f.users[owner].ID)
	if err != nil || len(infos) != 1 {
		t.Fatalf("tokens %v, %v", infos, err)
	}
	if err := f.acc.RevokeAPIToken(ctx, f.users[owner].ID, infos[0].ID); err != nil {
		t.Fatal(err)
	}
	if res := f.call(t, owner, "GET", lp("members"), nil); res.Status != http.StatusUnauthorized {
		t.Errorf("revoked token: status %d, want 401", res.Status)
	}
}

func TestPrivateListHidden(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	hidden := "/api/v1/lists/" + hiddenList
	for _, who := range []string{other, member, moderator} {
		if res := f.call(t, who, "GET", hidden, nil); res.Status != http.StatusNotFound {
			t.Errorf("%s: GET hidden list: status %d, want 404", who, res.Status)
		}
		if res := f.call(t, who, "GET", hidden+"/held", nil); res.Status != http.StatusNotFound {
			t.Errorf("%s: GET hidden list's held: status %d, want 404", who, res.Status)
		}
		var idx struct{ Lists []listJSON }
		f.call(t, who, "GET", "/api/v1/lists", nil).decodeInto(t, &idx)
		for _, l := range idx.Lists {
			if l.Address == hiddenList {
				t.Errorf("%s sees the hidden list in the index", who)
			}
		}
	}
	for _, who := range []string{owner, admin} {
		var idx struct{ Lists []listJSON }
		f.call(t, who, "GET", "/api/v1/lists", nil).decodeInto(t, &idx)
		if !slices.ContainsFunc(idx.Lists, func(l listJSON) bool { return l.Address == hiddenList }) {
			t.Errorf("%s does not see the hidden list in the index: %+v", who, idx.Lists)
		}
		if res := f.call(t, who, "GET", hidden, nil); res.Status != http.StatusOK {
			t.Errorf("%s: GET hidden list: status %d", who, res.Status)
		}
	}
}

func TestIndexAndInfo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var idx struct{ Lists []listJSON }
	f.call(t, admin, "GET", "/api/v1/lists", nil).decodeInto(t, &idx)
	if len(idx.Lists) != 3 {
		t.Errorf("site admin sees %d lists, want 3", len(idx.Lists))
	}
	f.call(t, owner, "GET", "/api/v1/lists", nil).decodeInto(t, &idx)
	for _, l := range idx.Lists {
		if l.Address == testList && !slices.Equal(l.Roles, []string{"owner"}) {
			t.Errorf("owner's roles on %s: %v", l.Address, l.Roles)
		}
	}

	var info listInfo
	f.call(t, owner, "GET", lp(""), nil).decodeInto(t, &info)
	if info.Address != testList || info.DisplayName != "Wikitech" || info.Members != 1 || !info.May.Administer || info.Rev == 0 {
		t.Errorf("owner's info %+v", info)
	}
	if string(info.Settings["default_member_action"]) != `"accept"` || string(info.Settings["banned_addresses"]) != "[]" {
		t.Errorf("settings %v", info.Settings)
	}
	// Members and moderators see the list, not its settings.
	for _, who := range []string{member, moderator} {
		m := f.call(t, who, "GET", lp(""), nil).JSON(t)
		if _, ok := m["settings"]; ok {
			t.Errorf("%s sees the settings", who)
		}
	}
}

func TestUnknownEndpointAndMethod(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := f.call(t, owner, "GET", lp("nonsense"), nil)
	if res.Status != http.StatusNotFound || res.JSON(t)["error"] == nil {
		t.Errorf("unknown endpoint: %d %s", res.Status, res.Body)
	}
	res = f.call(t, owner, "PUT", lp("settings"), map[string]any{})
	if res.Status != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "PATCH" {
		t.Errorf("PUT settings: %d Allow %q", res.Status, res.Header.Get("Allow"))
	}
	if res := f.call(t, owner, "GET", "/api/v1/lists/nosuch@lists.example.org/held", nil); res.Status != http.StatusNotFound {
		t.Errorf("unknown list: status %d", res.Status)
	}
}
