package lists

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	// Mode is how a member receives posts: each one, or in digests.
	Mode DeliveryMode
	// DigestFormat is the form of the digests the member gets in digest
	// mode: MIME (the default) or plain text (RFC 1153).
	DigestFormat DigestFormat
}

// DeliveryMode is how a member receives the list's posts.
type DeliveryMode string

const (
	ModeRegular DeliveryMode = "regular" // every post as it is accepted
	ModeDigest  DeliveryMode = "digest"  // collected posts in a digest
)

// Valid reports whether m is a known delivery mode.
func (m DeliveryMode) Valid() bool { return m == ModeRegular || m == ModeDigest }

// NewMember describes a member to add. Address may carry a display name
// ("Ann <ann@example.org>"). Zero Role is member, zero Delivery enabled.
type NewMember struct {
	Address     string
	DisplayName string
	Role        Role
	Delivery    Delivery
	Moderation  *Action
	Mode        DeliveryMode // zero is regular
	// DigestFormat is the digest form for digest mode; zero is MIME.
	DigestFormat DigestFormat
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
	if nm.Mode == "" {
		nm.Mode = ModeRegular
	}
	if !nm.Mode.Valid() {
		return nm, &InvalidError{Field: "mode", Value: string(nm.Mode), Problem: "want regular or digest"}
	}
	if nm.DigestFormat == "" {
		nm.DigestFormat = DigestMIME
	}
	if !nm.DigestFormat.Valid() {
		return nm, &InvalidError{Field: "digest_format", Value: string(nm.DigestFormat), Problem: "want mime or plain"}
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

const insertMember = `INSERT INTO members (list_id, address, addr_key, display_name, role, delivery, moderation, created, mode, digest_format)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

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
		res, err := stmt.ExecContext(ctx, id, n.Address, addrKey(n.Address), n.DisplayName, string(n.Role), string(n.Delivery), modArg(n.Moderation), now, string(n.Mode),
			string(n.DigestFormat))
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

const memberCols = `id, address, display_name, role, delivery, moderation, created, mode, digest_format`

func scanMember(row interface{ Scan(...any) error }, list string) (*Member, error) {
	var m Member
	var mod sql.NullString
	var created int64
	if err := row.Scan(&m.ID, &m.Address, &m.DisplayName, &m.Role, &m.Delivery, &mod, &created, &m.Mode, &m.DigestFormat); err != nil {
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

// SetDeliveryMode switches a member between regular and digest delivery.
func (s *Store) SetDeliveryMode(ctx context.Context, list, addr string, m DeliveryMode) error {
	if !m.Valid() {
		return &InvalidError{Field: "mode", Value: string(m), Problem: "want regular or digest"}
	}
	return s.updateMember(ctx, list, addr, RoleMember, `mode = ?`, string(m))
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
