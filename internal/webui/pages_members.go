package webui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// pageSize is the default number of members per page; maxPageSize the most
// a reader may ask for with ?n=.
const (
	pageSize    = 50
	maxPageSize = 500
)

type membersData struct {
	A       *access
	Members []*lists.Member
	Total   int // rows of the role filter (all roles when none)
	Search  string
	Role    string
	Roles   []string
	Next    string // URL of the next page, "" on the last
	First   string // URL of the first page, "" on the first
	Problem string
	Notice  string
}

func memberRoles() []string {
	return []string{string(lists.RoleMember), string(lists.RoleModerator), string(lists.RoleOwner), string(lists.RoleNonmember)}
}

// members shows one page of members. Each render costs one indexed page
// query and one count, at any depth: pagination is by cursor.
func (u *UI) members(w http.ResponseWriter, r *http.Request, a *access) {
	ctx, list, q := r.Context(), a.List.Address(), r.URL.Query()
	d := membersData{A: a, Search: strings.TrimSpace(q.Get("q")), Role: q.Get("role"), Roles: memberRoles()}
	if d.Role != "" && !lists.Role(d.Role).Valid() {
		d.Role = ""
	}
	if q.Get("done") == "mode" {
		d.Notice = "The delivery mode and digest format were saved."
	}
	n := pageSize
	if v, err := strconv.Atoi(q.Get("n")); err == nil && v > 0 {
		n = min(v, maxPageSize)
	}
	page, err := u.o.Lists.Members(ctx, list, lists.MemberQuery{Role: lists.Role(d.Role), Search: d.Search,
		After: q.Get("after"), Limit: n})
	var inv *lists.InvalidError
	if errors.As(err, &inv) {
		d.Problem = "That page link is no longer valid; showing the first page."
		page, err = u.o.Lists.Members(ctx, list, lists.MemberQuery{Role: lists.Role(d.Role), Search: d.Search, Limit: n})
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if d.Total, err = u.o.Lists.CountMembers(ctx, list, lists.Role(d.Role)); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Members = page.Members
	base := url.Values{}
	if d.Search != "" {
		base.Set("q", d.Search)
	}
	if d.Role != "" {
		base.Set("role", d.Role)
	}
	if n != pageSize {
		base.Set("n", strconv.Itoa(n))
	}
	if page.Next != "" {
		nq := url.Values{"after": {page.Next}}
		for k, v := range base {
			nq[k] = v
		}
		d.Next = listPath(list, "members") + "?" + nq.Encode()
	}
	if q.Get("after") != "" {
		d.First = listPath(list, "members")
		if len(base) > 0 {
			d.First += "?" + base.Encode()
		}
	}
	u.render(w, r, http.StatusOK, "Members", nav(a, "Members"), "members", d)
}

// bulkData is the outcome page of a bulk add, remove or import.
type bulkData struct {
	A        *access
	What     string
	Done     int
	Existing int
	Problems []string
	More     int // problems not shown
}

const maxProblems = 50

func (b *bulkData) problem(s string) {
	if len(b.Problems) < maxProblems {
		b.Problems = append(b.Problems, s)
	} else {
		b.More++
	}
}

// membersAdd adds the addresses of a textarea, one per line.
func (u *UI) membersAdd(w http.ResponseWriter, r *http.Request, a *access) {
	role := lists.Role(r.PostFormValue("role"))
	if role == "" {
		role = lists.RoleMember
	}
	if !role.Valid() {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "Unknown role.")
		return
	}
	var nms []lists.NewMember
	for line := range strings.SplitSeq(r.PostFormValue("addresses"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			nms = append(nms, lists.NewMember{Address: line, Role: role})
		}
	}
	d := bulkData{A: a, What: "Added"}
	if err := u.addMembers(r, a, nms, &d); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r.Context(), AuditEntry{Actor: a.Email(), Action: "members.add", List: a.List.Address(),
		Target: targets(nms, func(m lists.NewMember) string { return m.Address }),
		Detail: fmt.Sprintf("role %s: %d added, %d already there, %d refused", role, d.Done, d.Existing, len(d.Problems)+d.More)})
	u.render(w, r, http.StatusOK, "Add members", nav(a, "Members"), "bulk", d)
}

// addMembers adds nms in batches and counts the outcome into d.
func (u *UI) addMembers(r *http.Request, a *access, nms []lists.NewMember, d *bulkData) error {
	for len(nms) > 0 {
		batch := nms[:min(len(nms), 1000)]
		nms = nms[len(batch):]
		res, err := u.o.Lists.AddMembers(r.Context(), a.List.Address(), batch)
		if err != nil {
			return err
		}
		for _, br := range res {
			var ex *lists.ExistsError
			switch {
			case br.Err == nil:
				d.Done++
			case errors.As(br.Err, &ex):
				d.Existing++
			default:
				d.problem(br.Address + ": " + fieldError(br.Err))
			}
		}
	}
	return nil
}

// membersRemove removes the ticked (role, address) rows.
func (u *UI) membersRemove(w http.ResponseWriter, r *http.Request, a *access) {
	if err := r.ParseForm(); err != nil {
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	byRole := map[lists.Role][]string{}
	var all []string
	for _, v := range r.PostForm["sel"] {
		role, addr, ok := strings.Cut(v, " ")
		if !ok || !lists.Role(role).Valid() {
			continue
		}
		byRole[lists.Role(role)] = append(byRole[lists.Role(role)], addr)
		all = append(all, v)
	}
	d := bulkData{A: a, What: "Removed"}
	for _, role := range memberRoles() {
		addrs := byRole[lists.Role(role)]
		if len(addrs) == 0 {
			continue
		}
		res, err := u.o.Lists.RemoveMembers(r.Context(), a.List.Address(), addrs, lists.Role(role))
		if err != nil {
			u.fail(w, r, err)
			return
		}
		for _, br := range res {
			if br.Err == nil {
				d.Done++
			} else {
				d.problem(br.Address + " (" + role + "): " + fieldError(br.Err))
			}
		}
	}
	u.audit(r.Context(), AuditEntry{Actor: a.Email(), Action: "members.remove", List: a.List.Address(),
		Target: targets(all, func(s string) string { return s }), Detail: fmt.Sprintf("%d removed", d.Done)})
	u.render(w, r, http.StatusOK, "Remove members", nav(a, "Members"), "bulk", d)
}

// targets names up to ten items for an audit entry.
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
