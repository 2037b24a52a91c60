package lists

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
)

// MemberQuery selects a page of members.
type MemberQuery struct {
	Role Role // "" for every role
	// Mode, when set, selects members with that delivery mode only.
	Mode   DeliveryMode
	Search string // case-insensitive substring of address or display name
	// Prefix, when set, selects members whose address, or whose display
	// name, starts with it (case-insensitive; display names are folded in
	// ASCII only). Unlike Search it walks index ranges, so it stays fast on
	// large lists; both may be set (then both must match).
	Prefix string
	After  string // MemberPage.Next of the previous page; "" for the first
	Limit  int    // page size; default 100, at most 1000
}

// MemberPage is one page of members ordered by address, then role.
type MemberPage struct {
	Members []*Member
	Next    string // cursor for the next page; "" on the last page
}

// Members returns one page of members. Pagination is by key (address,
// role), so a page costs the same at any depth.
func (s *Store) Members(ctx context.Context, list string, q MemberQuery) (MemberPage, error) {
	id, laddr, err := s.listID(ctx, s.db, list)
	if err != nil {
		return MemberPage{}, err
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	where := []string{"list_id = ?"}
	args := []any{id}
	if q.Role != "" {
		where = append(where, "role = ?")
		args = append(args, string(q.Role))
	}
	if q.Mode != "" {
		where = append(where, "mode = ?")
		args = append(args, string(q.Mode))
	}
	if q.After != "" {
		key, role, err := decodeCursor(q.After)
		if err != nil {
			return MemberPage{}, err
		}
		where = append(where, "(addr_key, role) > (?, ?)")
		args = append(args, key, role)
	}
	if q.Search != "" {
		needle := strings.ToLower(q.Search)
		where = append(where, "(instr(addr_key, ?) > 0 OR instr(lower(display_name), ?) > 0)")
		args = append(args, needle, needle)
	}
	query := `SELECT ` + memberCols + ` FROM members WHERE ` + strings.Join(where, " AND ") + ` ORDER BY addr_key, role LIMIT ?`
	if q.Prefix != "" {
		query, args = prefixQuery(where, args, q.Prefix, q.Limit+1)
	} else {
		args = append(args, q.Limit+1)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return MemberPage{}, fmt.Errorf("lists: members: %w", err)
	}
	defer rows.Close()
	var page MemberPage
	for rows.Next() {
		m, err := scanMember(rows, laddr)
		if err != nil {
			return MemberPage{}, fmt.Errorf("lists: members: %w", err)
		}
		page.Members = append(page.Members, m)
	}
	if err := rows.Err(); err != nil {
		return MemberPage{}, fmt.Errorf("lists: members: %w", err)
	}
	if len(page.Members) > q.Limit {
		page.Members = page.Members[:q.Limit]
		last := page.Members[q.Limit-1]
		page.Next = encodeCursor(addrKey(last.Address), string(last.Role))
	}
	return page, nil
}

func encodeCursor(key, role string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key + "\x00" + role))
}

func decodeCursor(c string) (key, role string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		var ok bool
		if key, role, ok = strings.Cut(string(b), "\x00"); ok {
			return key, role, nil
		}
	}
	return "", "", &InvalidError{Field: "cursor", Value: c, Problem: "not a cursor from a previous page"}
}

// CountMembers counts the rows of role ("" for all roles).
func (s *Store) CountMembers(ctx context.Context, list string, role Role) (int, error) {
	id, _, err := s.listID(ctx, s.db, list)
	if err != nil {
		return 0, err
	}
	q, args := `SELECT count(*) FROM members WHERE list_id = ?`, []any{id}
	if role != "" {
		q, args = q+` AND role = ?`, append(args, string(role))
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("lists: count: %w", err)
	}
	return n, nil
}

// rosterEntry is what the chain needs to know about one address.
type rosterEntry struct {
	role       Role
	moderation *Action
}

// roster returns the rows of the given addresses (lowercased keys) on list
// id, keyed by addr_key then role.
func (s *Store) roster(ctx context.Context, listID int64, keys []string) (map[string]map[Role]rosterEntry, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ph := strings.TrimSuffix(strings.Repeat("?,", len(keys)), ",")
	args := []any{listID}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT addr_key, role, moderation FROM members
		WHERE list_id = ? AND addr_key IN (`+ph+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("lists: roster: %w", err)
	}
	defer rows.Close()
	out := map[string]map[Role]rosterEntry{}
	for rows.Next() {
		var key string
		var e rosterEntry
		var mod sql.NullString
		if err := rows.Scan(&key, &e.role, &mod); err != nil {
			return nil, fmt.Errorf("lists: roster: %w", err)
		}
		if mod.Valid {
			a := Action(mod.String)
			e.moderation = &a
		}
		if out[key] == nil {
			out[key] = map[Role]rosterEntry{}
		}
		out[key][e.role] = e
	}
	return out, rows.Err()
}
