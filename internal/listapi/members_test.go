package listapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

func TestMembersBulkAdd(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := f.call(t, owner, "POST", lp("members"), map[string]any{"members": []map[string]string{
		{"address": "ann@example.net", "name": "Ann"},
		{"address": emailOf(member)},
		{"address": "not an address"},
		{"address": "bob@example.net", "role": "moderator"},
		{"address": "carol@example.net", "role": "emperor"},
		{"address": "Dan <dan@Example.NET>"},
	}})
	var got bulkOut
	res.decodeInto(t, &got)
	if res.Status != http.StatusOK || len(got.Results) != 6 {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	want := []struct{ addr, role, status, field string }{
		{"ann@example.net", "member", "added", ""},
		{emailOf(member), "member", "exists", ""},
		{"not an address", "member", "invalid", "address"},
		{"bob@example.net", "moderator", "added", ""},
		{"carol@example.net", "emperor", "invalid", "role"},
		{"dan@example.net", "member", "added", ""},
	}
	for i, w := range want {
		r := got.Results[i]
		if r.Address != w.addr || r.Role != w.role || r.Status != w.status || r.Field != w.field || (w.status == "invalid") != (r.Error != "") {
			t.Errorf("result %d: %+v, want %+v", i, r, w)
		}
	}
	if got.Counts["added"] != 3 || got.Counts["exists"] != 1 || got.Counts["invalid"] != 2 {
		t.Errorf("counts %v", got.Counts)
	}
	m, err := f.st.GetMember(t.Context(), testList, "ann@example.net", lists.RoleMember)
	if err != nil || m.DisplayName != "Ann" {
		t.Errorf("ann: %+v, %v", m, err)
	}
	if _, err := f.st.GetMember(t.Context(), testList, "bob@example.net", lists.RoleModerator); err != nil {
		t.Errorf("bob is not a moderator: %v", err)
	}
	a := f.lastAudit(t, testList)
	if a.Actor != emailOf(owner) || a.Action != "members.add" || !strings.Contains(a.Target, "ann@example.net") ||
		a.Detail != "role member, moderator: 3 added, 1 already there, 2 refused" {
		t.Errorf("audit %+v", a)
	}

	if res := f.call(t, owner, "POST", lp("members"), map[string]any{"members": []any{}}); res.Status != http.StatusBadRequest {
		t.Errorf("no members: %d", res.Status)
	}
	if res := f.call(t, owner, "POST", lp("members"), map[string]any{"members": []map[string]any{{"address": "x@example.net", "admin": true}}}); res.Status != http.StatusBadRequest {
		t.Errorf("unknown member field: %d", res.Status)
	}
}

func TestMembersPagingAndRemove(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 5 {
		f.add(t, testList, fmt.Sprintf("user%d@example.net", i), lists.RoleMember)
	}
	// Pages of two members by cursor, role member only: user0..4 and member@.
	var seen []string
	after := ""
	for range 10 {
		q := url.Values{"role": {"member"}, "limit": {"2"}}
		if after != "" {
			q.Set("after", after)
		}
		var page struct {
			Members []memberJSON
			Next    string
			Total   int
		}
		res := f.call(t, owner, "GET", lp("members")+"?"+q.Encode(), nil)
		res.decodeInto(t, &page)
		if res.Status != http.StatusOK || len(page.Members) > 2 || page.Total != 6 {
			t.Fatalf("page after %q: %d %s", after, res.Status, res.Body)
		}
		for _, m := range page.Members {
			if m.Role != "member" {
				t.Errorf("role filter let through %+v", m)
			}
			seen = append(seen, m.Address)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if len(seen) != 6 || seen[0] != emailOf(member) || seen[5] != "user4@example.net" {
		t.Errorf("pages gave %v", seen)
	}
	var page struct{ Members []memberJSON }
	f.call(t, owner, "GET", lp("members")+"?prefix=user3", nil).decodeInto(t, &page)
	if len(page.Members) != 1 || page.Members[0].Address != "user3@example.net" {
		t.Errorf("prefix: %+v", page.Members)
	}
	for _, q := range []string{"role=emperor", "limit=0", "limit=5000", "after=garbage!"} {
		if res := f.call(t, owner, "GET", lp("members")+"?"+q, nil); res.Status != http.StatusBadRequest || res.JSON(t)["field"] == nil {
			t.Errorf("%s: %d %s", q, res.Status, res.Body)
		}
	}

	// Bulk remove: per-address results, in order.
	res := f.call(t, owner, "POST", lp("members/remove"), map[string]any{"members": []map[string]string{
		{"address": "user0@example.net"}, {"address": "user1@example.net", "role": "owner"}, {"address": "user2@example.net"}, {"address": "@"},
	}})
	var got bulkOut
	res.decodeInto(t, &got)
	var statuses []string
	for _, r := range got.Results {
		statuses = append(statuses, r.Status)
	}
	if res.Status != http.StatusOK || strings.Join(statuses, " ") != "removed not_found removed invalid" {
		t.Errorf("bulk remove: %d %s", res.Status, res.Body)
	}
	if a := f.lastAudit(t, testList); a.Action != "members.remove" || a.Detail != "2 removed" ||
		!strings.Contains(a.Target, "member user0@example.net") {
		t.Errorf("audit %+v", a)
	}

	// One at a time.
	if res := f.call(t, owner, "DELETE", lp("members/user3@example.net"), nil); res.Status != http.StatusOK {
		t.Errorf("delete: %d %s", res.Status, res.Body)
	}
	if a := f.lastAudit(t, testList); a.Action != "members.remove" || a.Target != "member user3@example.net" {
		t.Errorf("audit %+v", a)
	}
	if res := f.call(t, owner, "DELETE", lp("members/user3@example.net"), nil); res.Status != http.StatusNotFound {
		t.Errorf("delete again: %d %s", res.Status, res.Body)
	}
	if res := f.call(t, owner, "DELETE", lp("members/user4@example.net?role=moderator"), nil); res.Status != http.StatusNotFound {
		t.Errorf("delete with the wrong role: %d %s", res.Status, res.Body)
	}
	if res := f.call(t, owner, "DELETE", lp("members/nonsense"), nil); res.Status != http.StatusBadRequest {
		t.Errorf("delete a non-address: %d %s", res.Status, res.Body)
	}
	if _, err := f.st.GetMember(t.Context(), testList, "user4@example.net", lists.RoleMember); err != nil {
		t.Errorf("user4 gone: %v", err)
	}
}
