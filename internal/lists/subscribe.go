package lists

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// SubState is where a subscription request stands.
type SubState string

const (
	Subscribed      SubState = "subscribed"
	PendingConfirm  SubState = "pending-confirm"  // waiting for the address to confirm
	PendingApproval SubState = "pending-approval" // waiting for a moderator
	// PendingUnsubscribe: an unsubscription asked for by mail waits for
	// the address to confirm (RequestUnsubscribe).
	PendingUnsubscribe SubState = "pending-unsubscribe"
	// Unsubscribed: Confirm completed an unsubscription.
	Unsubscribed SubState = "unsubscribed"
)

// SubscribeResult is the outcome of Subscribe or Confirm.
type SubscribeResult struct {
	List    string
	Address string
	State   SubState
	// Token is set for PendingConfirm: send it to the address (for example
	// as ConfirmAddress(list, token)). It is not stored and cannot be
	// recovered later.
	Token   string
	Expires time.Time // of the token
}

// Pending is a subscription request that is not complete.
type Pending struct {
	Address     string
	DisplayName string
	State       SubState
	Via         string
	Created     time.Time
	Expires     time.Time // of the confirmation token; zero when waiting for approval
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(token))))
	return h[:]
}

func (s *Store) newToken() (string, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("lists: token: %w", err)
	}
	// Lowercase base32: survives case-folding in the local part of
	// name-confirm+TOKEN@domain.
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// Subscribe asks for addr to become a member of list by way of via ("web",
// "mail", "api", ...), following the list's subscription policy.
// An address that is already a member gets an *ExistsError.
func (s *Store) Subscribe(ctx context.Context, list, addr, via string) (SubscribeResult, error) {
	l, err := s.GetList(ctx, list)
	if err != nil {
		return SubscribeResult{}, err
	}
	a, name, err := NormalizeAddress(addr)
	if err != nil {
		return SubscribeResult{}, err
	}
	res := SubscribeResult{List: l.Address(), Address: a}
	if _, err := s.GetMember(ctx, list, a, RoleMember); err == nil {
		return res, &ExistsError{What: "member", Key: a}
	} else if nf := (*NotFoundError)(nil); !errors.As(err, &nf) {
		return res, err
	}
	now := s.now()
	switch l.Settings.SubscriptionPolicy {
	case PolicyOpen:
		if _, err := s.AddMember(ctx, list, NewMember{Address: a, DisplayName: name}); err != nil {
			return res, err
		}
		res.State = Subscribed
		return res, nil
	case PolicyModerate:
		res.State = PendingApproval
		_, err := s.db.ExecContext(ctx, `INSERT INTO pending (list_id, address, addr_key, display_name, state, token_hash, via, created, expires)
			VALUES (?, ?, ?, ?, ?, NULL, ?, ?, 0)
			ON CONFLICT (list_id, addr_key) DO UPDATE SET state = excluded.state, token_hash = NULL, via = excluded.via, expires = 0`,
			l.ID, a, addrKey(a), name, string(PendingApproval), via, now.UnixNano())
		if err != nil {
			return res, fmt.Errorf("lists: subscribe %s: %w", a, err)
		}
		return res, nil
	default: // confirm, confirm-then-moderate
		tok, err := s.newToken()
		if err != nil {
			return res, err
		}
		res.State, res.Token = PendingConfirm, tok
		res.Expires = now.Add(time.Duration(l.Settings.ConfirmDays) * 24 * time.Hour)
		_, err = s.db.ExecContext(ctx, `INSERT INTO pending (list_id, address, addr_key, display_name, state, token_hash, via, created, expires)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (list_id, addr_key) DO UPDATE SET state = excluded.state, token_hash = excluded.token_hash,
				via = excluded.via, created = excluded.created, expires = excluded.expires`,
			l.ID, a, addrKey(a), name, string(PendingConfirm), tokenHash(tok), via, now.UnixNano(), res.Expires.UnixNano())
		if err != nil {
			return res, fmt.Errorf("lists: subscribe %s: %w", a, err)
		}
		return res, nil
	}
}

// Confirm completes the confirmation step named by token: the address
// becomes a member, or (confirm-then-moderate) waits for a moderator; for
// a token of RequestUnsubscribe the address stops being a member (State
// Unsubscribed). An unknown or expired token is a *TokenError; an expired
// one is deleted.
func (s *Store) Confirm(ctx context.Context, token string) (SubscribeResult, error) {
	var (
		id, listID, expires int64
		addr, name, via     string
		lname, ldomain      string
		setJSON             string
	)
	err := s.db.QueryRowContext(ctx, `SELECT p.id, p.list_id, p.address, p.display_name, p.via, p.expires, l.name, l.domain, l.settings
		FROM pending p JOIN lists l ON l.id = p.list_id WHERE p.token_hash = ? AND p.state = ?`,
		tokenHash(token), string(PendingConfirm)).Scan(&id, &listID, &addr, &name, &via, &expires, &lname, &ldomain, &setJSON)
	if errors.Is(err, sql.ErrNoRows) {
		return s.confirmUnsubscribe(ctx, token)
	}
	if err != nil {
		return SubscribeResult{}, fmt.Errorf("lists: confirm: %w", err)
	}
	list := lname + "@" + ldomain
	res := SubscribeResult{List: list, Address: addr}
	if !s.now().Before(time.Unix(0, expires)) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM pending WHERE id = ?`, id); err != nil {
			return res, fmt.Errorf("lists: confirm: %w", err)
		}
		return res, &TokenError{Expired: true}
	}
	set, err := unmarshalSettings(lname, []byte(setJSON))
	if err != nil {
		return res, err
	}
	if set.SubscriptionPolicy == PolicyConfirmThenModerate || set.SubscriptionPolicy == PolicyModerate {
		if _, err := s.db.ExecContext(ctx, `UPDATE pending SET state = ?, token_hash = NULL, expires = 0 WHERE id = ?`,
			string(PendingApproval), id); err != nil {
			return res, fmt.Errorf("lists: confirm: %w", err)
		}
		res.State = PendingApproval
		return res, nil
	}
	if err := s.promote(ctx, id, listID, addr, name); err != nil {
		return res, err
	}
	res.State = Subscribed
	return res, nil
}

// promote turns pending row id into a member in one transaction.
func (s *Store) promote(ctx context.Context, id, listID int64, addr, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("lists: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, insertMember, listID, addr, addrKey(addr), name, string(RoleMember),
		string(DeliveryEnabled), nil, s.now().UnixNano(), string(ModeRegular), string(DigestMIME)); err != nil {
		return fmt.Errorf("lists: add %s: %w", addr, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending WHERE id = ?`, id); err != nil {
		return fmt.Errorf("lists: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("lists: %w", err)
	}
	return nil
}

func (s *Store) pendingRow(ctx context.Context, list, addr string) (id, listID int64, a, name string, err error) {
	listID, _, err = s.listID(ctx, s.db, list)
	if err != nil {
		return 0, 0, "", "", err
	}
	a, _, err = NormalizeAddress(addr)
	if err != nil {
		return 0, 0, "", "", err
	}
	err = s.db.QueryRowContext(ctx, `SELECT id, address, display_name FROM pending WHERE list_id = ? AND addr_key = ? AND state = ?`,
		listID, addrKey(a), string(PendingApproval)).Scan(&id, &a, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, "", "", &NotFoundError{What: "pending subscription", Key: a}
	}
	if err != nil {
		return 0, 0, "", "", fmt.Errorf("lists: %w", err)
	}
	return id, listID, a, name, nil
}

// ApproveSubscription makes a request waiting for a moderator a member.
func (s *Store) ApproveSubscription(ctx context.Context, list, addr string) error {
	id, listID, a, name, err := s.pendingRow(ctx, list, addr)
	if err != nil {
		return err
	}
	return s.promote(ctx, id, listID, a, name)
}

// RejectSubscription drops a request waiting for a moderator.
func (s *Store) RejectSubscription(ctx context.Context, list, addr string) error {
	id, _, _, _, err := s.pendingRow(ctx, list, addr)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM pending WHERE id = ?`, id); err != nil {
		return fmt.Errorf("lists: %w", err)
	}
	return nil
}

// PendingSubscriptions lists the incomplete requests of list, oldest first.
func (s *Store) PendingSubscriptions(ctx context.Context, list string) ([]Pending, error) {
	id, _, err := s.listID(ctx, s.db, list)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT address, display_name, state, via, created, expires FROM pending
		WHERE list_id = ? ORDER BY created, id`, id)
	if err != nil {
		return nil, fmt.Errorf("lists: pending: %w", err)
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		var created, expires int64
		if err := rows.Scan(&p.Address, &p.DisplayName, &p.State, &p.Via, &created, &expires); err != nil {
			return nil, fmt.Errorf("lists: pending: %w", err)
		}
		p.Created = time.Unix(0, created)
		if expires != 0 {
			p.Expires = time.Unix(0, expires)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ExpirePending deletes confirmation requests whose token has expired and
// returns how many.
func (s *Store) ExpirePending(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM pending WHERE state = ? AND expires <= ?`,
		string(PendingConfirm), s.now().UnixNano())
	if err != nil {
		return 0, fmt.Errorf("lists: expire: %w", err)
	}
	n, _ := res.RowsAffected()
	res, err = s.db.ExecContext(ctx, `DELETE FROM pending_unsub WHERE expires <= ?`, s.now().UnixNano())
	if err != nil {
		return n, fmt.Errorf("lists: expire: %w", err)
	}
	k, _ := res.RowsAffected()
	return n + k, nil
}

// Unsubscribe removes addr's member role (other roles stay) and any pending
// request. Not being a member is a *NotFoundError.
func (s *Store) Unsubscribe(ctx context.Context, list, addr string) error {
	if err := s.RemoveMember(ctx, list, addr, RoleMember); err != nil {
		return err
	}
	id, _, err := s.listID(ctx, s.db, list)
	if err != nil {
		return err
	}
	a, _, _ := NormalizeAddress(addr)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM pending WHERE list_id = ? AND addr_key = ?`, id, addrKey(a)); err != nil {
		return fmt.Errorf("lists: %w", err)
	}
	return nil
}

// UnsubscribeToken signs (list, addr) with the site secret, for the
// unsubscribe link of a web page and RFC 8058 one-click POST. It does not
// expire: links in archived mail keep working while the secret stays.
func (s *Store) UnsubscribeToken(list, addr string) string {
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte("posthorn-unsubscribe\x00" + strings.ToLower(strings.TrimSpace(list)) + "\x00" + normKey(addr)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// VerifyUnsubscribeToken reports whether token was made by UnsubscribeToken
// for (list, addr), comparing in constant time.
func (s *Store) VerifyUnsubscribeToken(list, addr, token string) bool {
	want := s.UnsubscribeToken(list, addr)
	return hmac.Equal([]byte(want), []byte(token))
}

func normKey(addr string) string {
	if a, _, err := NormalizeAddress(addr); err == nil {
		return addrKey(a)
	}
	return strings.ToLower(strings.TrimSpace(addr))
}
