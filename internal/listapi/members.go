package listapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/lists"
)

// Member paging: the default and largest page, as lists.Members allows.
const (
	membersPage    = 100
	maxMembersPage = 1000
	// maxBulk bounds the addresses of one bulk add or remove; they are
	// written 1,000 per transaction.
	maxBulk = 100_000
	batch   = 1000
)

// memberJSON is one (address, role) row.
type memberJSON struct {
	Address      string    `json:"address"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Delivery     string    `json:"delivery"`
	Mode         string    `json:"mode"`
	DigestFormat string    `json:"digest_format"`
	Moderation   string    `json:"moderation,omitempty"` // "" = the list default
	Created      time.Time `json:"created"`
}

func memberOf(m *lists.Member) memberJSON {
	j := memberJSON{Address: m.Address, Name: m.DisplayName, Role: string(m.Role), Delivery: string(m.Delivery),
		Mode: string(m.Mode), DigestFormat: string(m.DigestFormat), Created: m.Created.UTC()}
	if m.Moderation != nil {
		j.Moderation = string(*m.Moderation)
	}
	return j
}

// parseRole reads an optional role ("" stays "" unless def is given).
func parseRole(s string, def lists.Role) (lists.Role, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return def, nil
	}
	if r := lists.Role(s); r.Valid() {
		return r, nil
	}
	return "", &badRequest{Status: http.StatusBadRequest, Field: "role",
		Msg: "role " + strconv.Quote(s) + ": want member, moderator, owner or nonmember"}
}

// members answers one page of members, by cursor like the members page.
func (a *API) members(w http.ResponseWriter, r *http.Request, acc *access) {
	q := r.URL.Query()
	role, err := parseRole(q.Get("role"), "")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit := membersPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxMembersPage {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: want 1 to %d", maxMembersPage), "limit")
			return
		}
		limit = n
	}
	page, err := a.o.Lists.Members(r.Context(), acc.List.Address(), lists.MemberQuery{Role: role,
		Prefix: strings.TrimSpace(q.Get("prefix")), After: q.Get("after"), Limit: limit})
	var inv *lists.InvalidError
	if errors.As(err, &inv) && inv.Field == "cursor" {
		writeError(w, http.StatusBadRequest, "after: not a cursor from a previous page", "after")
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	total, err := a.o.Lists.CountMembers(r.Context(), acc.List.Address(), role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]memberJSON, len(page.Members))
	for i, m := range page.Members {
		out[i] = memberOf(m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": out, "next": page.Next, "total": total})
}

// memberIn is one member of a bulk add or remove.
type memberIn struct {
	Address string `json:"address"`
	Name    string `json:"name"`
	Role    string `json:"role"`
}

type membersIn struct {
	Members []memberIn `json:"members"`
}

// result is the outcome for one address of a bulk request.
type result struct {
	Address string `json:"address"`
	Role    string `json:"role"`
	// Status: added, exists, removed, not_found or invalid.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	Field  string `json:"field,omitempty"`
}

// bulkOut answers a bulk request: per-address results and counts by
// status.
type bulkOut struct {
	Results []result       `json:"results"`
	Counts  map[string]int `json:"counts"`
}

func newBulkOut(results []result) bulkOut {
	out := bulkOut{Results: results, Counts: map[string]int{}}
	for _, r := range results {
		out.Counts[r.Status]++
	}
	return out
}

func readMembers(w http.ResponseWriter, r *http.Request) ([]memberIn, error) {
	var in membersIn
	if err := decode(w, r, maxMembersBody, &in); err != nil {
		return nil, err
	}
	switch {
	case len(in.Members) == 0:
		return nil, &badRequest{Status: http.StatusBadRequest, Field: "members",
			Msg: `name the members: {"members": [{"address": "..."}]}`}
	case len(in.Members) > maxBulk:
		return nil, &badRequest{Status: http.StatusRequestEntityTooLarge, Field: "members",
			Msg: fmt.Sprintf("at most %d members per request", maxBulk)}
	}
	return in.Members, nil
}

// invalid is the result of an address that was refused before the store.
func invalid(addr, role string, err error) result {
	res := result{Address: addr, Role: role, Status: "invalid", Error: err.Error(), Field: "address"}
	var inv *lists.InvalidError
	var br *badRequest
	switch {
	case errors.As(err, &inv):
		res.Error, res.Field = inv.Problem, inv.Field
	case errors.As(err, &br):
		res.Error, res.Field = br.Msg, br.Field
	}
	return res
}

// addMembers adds members (any role) like the members page's add form.
// Results are in the order of the request.
func (a *API) addMembers(w http.ResponseWriter, r *http.Request, acc *access) {
	in, err := readMembers(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	results := make([]result, len(in))
	roles := map[string]bool{}
	for start := 0; start < len(in); start += batch {
		var nms []lists.NewMember
		var idx []int
		for i := start; i < min(len(in), start+batch); i++ {
			m := in[i]
			role, err := parseRole(m.Role, lists.RoleMember)
			if err != nil {
				results[i] = invalid(m.Address, m.Role, err)
				continue
			}
			roles[string(role)] = true
			nms = append(nms, lists.NewMember{Address: m.Address, DisplayName: strings.TrimSpace(m.Name), Role: role})
			idx = append(idx, i)
		}
		if len(nms) == 0 {
			continue
		}
		res, err := a.o.Lists.AddMembers(r.Context(), acc.List.Address(), nms)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		for k, br := range res {
			role := string(nms[k].Role)
			var ex *lists.ExistsError
			switch {
			case br.Err == nil:
				results[idx[k]] = result{Address: br.Address, Role: role, Status: "added"}
			case errors.As(br.Err, &ex):
				results[idx[k]] = result{Address: br.Address, Role: role, Status: "exists"}
			default:
				results[idx[k]] = invalid(br.Address, role, br.Err)
			}
		}
	}
	out := newBulkOut(results)
	a.audit(r.Context(), accounts.Entry{Actor: acc.Email(), Action: "members.add", List: acc.List.Address(),
		Target: targets(in, func(m memberIn) string { return m.Address }),
		Detail: fmt.Sprintf("role %s: %d added, %d already there, %d refused", strings.Join(sortedKeys(roles), ", "),
			out.Counts["added"], out.Counts["exists"], out.Counts["invalid"])})
	writeJSON(w, http.StatusOK, out)
}

// removeMembers removes (address, role) rows like the members page's
// remove form. Results are in the order of the request.
func (a *API) removeMembers(w http.ResponseWriter, r *http.Request, acc *access) {
	in, err := readMembers(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	results := make([]result, len(in))
	var sel []string
	for start := 0; start < len(in); start += batch {
		byRole := map[lists.Role][]int{}
		var order []lists.Role
		for i := start; i < min(len(in), start+batch); i++ {
			m := in[i]
			role, err := parseRole(m.Role, lists.RoleMember)
			if err != nil {
				results[i] = invalid(m.Address, m.Role, err)
				continue
			}
			if _, ok := byRole[role]; !ok {
				order = append(order, role)
			}
			byRole[role] = append(byRole[role], i)
			sel = append(sel, string(role)+" "+m.Address)
		}
		for _, role := range order {
			idx := byRole[role]
			addrs := make([]string, len(idx))
			for k, i := range idx {
				addrs[k] = in[i].Address
			}
			res, err := a.o.Lists.RemoveMembers(r.Context(), acc.List.Address(), addrs, role)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			for k, br := range res {
				results[idx[k]] = removal(br, role)
			}
		}
	}
	out := newBulkOut(results)
	a.audit(r.Context(), accounts.Entry{Actor: acc.Email(), Action: "members.remove", List: acc.List.Address(),
		Target: targets(sel, func(s string) string { return s }), Detail: fmt.Sprintf("%d removed", out.Counts["removed"])})
	writeJSON(w, http.StatusOK, out)
}

func removal(br lists.BulkResult, role lists.Role) result {
	var nf *lists.NotFoundError
	switch {
	case br.Err == nil:
		return result{Address: br.Address, Role: string(role), Status: "removed"}
	case errors.As(br.Err, &nf):
		return result{Address: br.Address, Role: string(role), Status: "not_found", Error: "not a " + string(role) + " of the list"}
	}
	return invalid(br.Address, string(role), br.Err)
}

// removeMember removes one (address, role) row: 404 when there is none.
func (a *API) removeMember(w http.ResponseWriter, r *http.Request, acc *access) {
	role, err := parseRole(r.URL.Query().Get("role"), lists.RoleMember)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	addr := r.PathValue("address")
	if _, _, err := lists.NormalizeAddress(addr); err != nil {
		writeError(w, http.StatusBadRequest, "address "+strconv.Quote(addr)+": not an email address", "address")
		return
	}
	res, err := a.o.Lists.RemoveMembers(r.Context(), acc.List.Address(), []string{addr}, role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := removal(res[0], role)
	if out.Status != "removed" {
		writeJSON(w, http.StatusNotFound, apiError{Error: out.Address + " is not a " + string(role) + " of " + acc.List.Address(), Field: "address"})
		return
	}
	a.audit(r.Context(), accounts.Entry{Actor: acc.Email(), Action: "members.remove", List: acc.List.Address(),
		Target: string(role) + " " + out.Address, Detail: "1 removed"})
	writeJSON(w, http.StatusOK, out)
}

// targets names up to ten items for an audit entry, as the web UI does.
func targets[T any](items []T, name func(T) string) string {
	var parts []string
	for i, it := range items {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(items)-10))
			break
		}
		parts = append(parts, name(it))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
