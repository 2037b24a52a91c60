package lists

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Member is one (address, role) of a list.
type Member struct {
	ID          int64
	List        string // posting address
	Address     string // domain lowercased
	DisplayName string
	Role        Role
	Delivery    Delivery
	// Moderation is the member's own action; nil means the list default.
	Moderation *Action
	Created    time.Time
}

// NewMember describes a member to add. Address may carry a display name
// ("Ann <ann@example.org>"). Zero Role is member, zero Delivery enabled.
type NewMember struct {
	Address     string
	DisplayName string
	Role        Role
	Delivery    Delivery
	Moderation  *Action
}

// BulkResult is the outcome for one address of a bulk operation: Err is nil
// when the address was added (or removed), else an *InvalidError,
// *ExistsError or *NotFoundError.
type BulkResult struct {
	Address string
	Err     error
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) listID(ctx context.Context, q querier, addr string) (int64, string, error) {
	name, domain, err := listKey(addr)
	if err != nil {
		return 0, "", err
	}
	var id int64
	err = q.QueryRowContext(ctx, `SELECT id FROM lists WHERE name = ? AND domain = ?`, name, domain).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", &NotFoundError{What: "list", Key: name + "@" + domain}
	}
	if err != nil {
		return 0, "", fmt.Errorf("lists: %w", err)
	}
	return id, name + "@" + domain, nil
}

func (nm NewMember) normalize() (NewMember, error) {
	addr, name, err := NormalizeAddress(nm.Address)
	if err != nil {
		return nm, err
	}
	nm.Address = addr
	if nm.DisplayName == "" {
		nm.DisplayName = name
	}
	if nm.Role == "" {
		nm.Role = RoleMember
	}
	if !nm.Role.Valid() {
		return nm, &InvalidError{Field: "role", Value: string(nm.Role), Problem: "want member, moderator, owner or nonmember"}
	}
	if nm.Delivery == "" {
		nm.Delivery = DeliveryEnabled
	}
	if !nm.Delivery.Valid() {
		return nm, &InvalidError{Field: "delivery", Value: string(nm.Delivery), Problem: "unknown delivery status"}
	}
	if nm.Moderation != nil && !nm.Moderation.Valid() {
		return nm, &InvalidError{Field: "moderation", Value: string(*nm.Moderation), Problem: "unknown action"}
	}
	return nm, nil
}

func modArg(a *Action) any {
	if a == nil {
		return nil
	}
	return string(*a)
}

const insertMember = `INSERT INTO members (list_id, address, addr_key, display_name, role, delivery, moderation, created)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

// AddMember adds one member (any role), bypassing the subscription policy
// (an administrator's add).
func (s *Store) AddMember(ctx context.Context, list string, nm NewMember) (*Member, error) {
	res, err := s.AddMembers(ctx, list, []NewMember{nm})
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	n, _ := nm.normalize()
	return s.GetMember(ctx, list, n.Address, n.Role)
}

// AddMembers adds members in one transaction and reports per address.
// The error is only for failures of the whole operation (no such list,
// database errors), in which case nothing was added.
func (s *Store) AddMembers(ctx context.Context, list string, nms []NewMember) ([]BulkResult, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	defer tx.Rollback()
	id, _, err := s.listID(ctx, tx, list)
	if err != nil {
		return nil, err
	}
	stmt, err := tx.PrepareContext(ctx, insertMember)
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	defer stmt.Close()
	now := s.now().UnixNano()
	out := make([]BulkResult, len(nms))
	for i, nm := range nms {
		out[i].Address = nm.Address
		n, err := nm.normalize()
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Address = n.Address
		res, err := stmt.ExecContext(ctx, id, n.Address, addrKey(n.Address), n.DisplayName, string(n.Role), string(n.Delivery), modArg(n.Moderation), now)
		if err != nil {
			return nil, fmt.Errorf("lists: add %s: %w", n.Address, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			out[i].Err = &ExistsError{What: string(n.Role), Key: n.Address}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	return out, nil
}

// RemoveMembers removes the role of each address in one transaction.
func (s *Store) RemoveMembers(ctx context.Context, list string, addrs []string, role Role) ([]BulkResult, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	defer tx.Rollback()
	id, _, err := s.listID(ctx, tx, list)
	if err != nil {
		return nil, err
	}
	stmt, err := tx.PrepareContext(ctx, `DELETE FROM members WHERE list_id = ? AND addr_key = ? AND role = ?`)
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	defer stmt.Close()
	out := make([]BulkResult, len(addrs))
	for i, a := range addrs {
		out[i].Address = a
		addr, _, err := NormalizeAddress(a)
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Address = addr
		res, err := stmt.ExecContext(ctx, id, addrKey(addr), string(role))
		if err != nil {
			return nil, fmt.Errorf("lists: remove %s: %w", addr, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			out[i].Err = &NotFoundError{What: string(role), Key: addr}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	return out, nil
}

// RemoveMember removes one role of one address.
func (s *Store) RemoveMember(ctx context.Context, list, addr string, role Role) error {
	res, err := s.RemoveMembers(ctx, list, []string{addr}, role)
	if err != nil {
		return err
	}
	return res[0].Err
}

const memberCols = `id, address, display_name, role, delivery, moderation, created`

func scanMember(row interface{ Scan(...any) error }, list string) (*Member, error) {
	var m Member
	var mod sql.NullString
	var created int64
	if err := row.Scan(&m.ID, &m.Address, &m.DisplayName, &m.Role, &m.Delivery, &mod, &created); err != nil {
		return nil, err
	}
	if mod.Valid {
		a := Action(mod.String)
		m.Moderation = &a
	}
	m.List = list
	m.Created = time.Unix(0, created)
	return &m, nil
}

// GetMember returns one role of one address.
func (s *Store) GetMember(ctx context.Context, list, addr string, role Role) (*Member, error) {
	id, laddr, err := s.listID(ctx, s.db, list)
	if err != nil {
		return nil, err
	}
	a, _, err := NormalizeAddress(addr)
	if err != nil {
		return nil, err
	}
	m, err := scanMember(s.db.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members
		WHERE list_id = ? AND addr_key = ? AND role = ?`, id, addrKey(a), string(role)), laddr)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{What: string(role), Key: a}
	}
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	return m, nil
}

// SetDelivery changes a member's delivery status.
func (s *Store) SetDelivery(ctx context.Context, list, addr string, d Delivery) error {
	if !d.Valid() {
		return &InvalidError{Field: "delivery", Value: string(d), Problem: "unknown delivery status"}
	}
	return s.updateMember(ctx, list, addr, RoleMember, `delivery = ?`, string(d))
}

// SetModeration sets (nil: clears, back to the list default) the moderation
// action of one role of an address.
func (s *Store) SetModeration(ctx context.Context, list, addr string, role Role, a *Action) error {
	if a != nil && !a.Valid() {
		return &InvalidError{Field: "moderation", Value: string(*a), Problem: "unknown action"}
	}
	return s.updateMember(ctx, list, addr, role, `moderation = ?`, modArg(a))
}

func (s *Store) updateMember(ctx context.Context, list, addr string, role Role, set string, arg any) error {
	id, _, err := s.listID(ctx, s.db, list)
	if err != nil {
		return err
	}
	a, _, err := NormalizeAddress(addr)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE members SET `+set+` WHERE list_id = ? AND addr_key = ? AND role = ?`,
		arg, id, addrKey(a), string(role))
	if err != nil {
		return fmt.Errorf("lists: update %s: %w", a, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{What: string(role), Key: a}
	}
	return nil
}

// MemberQuery selects a page of members.
type MemberQuery struct {
	Role   Role   // "" for every role
	Search string // case-insensitive substring of address or display name
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
	args = append(args, q.Limit+1)
	rows, err := s.db.QueryContext(ctx, `SELECT `+memberCols+` FROM members WHERE `+strings.Join(where, " AND ")+
		` ORDER BY addr_key, role LIMIT ?`, args...)
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
