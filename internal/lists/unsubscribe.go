package lists

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Unsubscription by mail.
//
//	RequestUnsubscribe ─▶ pending_unsub (token to the address) ─Confirm(token)─▶ not a member
//
// A request by mail can be forged (anybody can write From: you), so it only
// mails a token to the member; the one-click link (UnsubscribeToken) is
// already proof of the address and calls Unsubscribe directly.

// RequestUnsubscribe records that addr asked by way of via ("mail", ...) to
// leave list and returns the token to send to addr (State
// PendingUnsubscribe); Confirm with the token unsubscribes. An address that
// is not a member gets a *NotFoundError. A second request replaces the
// first token.
func (s *Store) RequestUnsubscribe(ctx context.Context, list, addr, via string) (SubscribeResult, error) {
	m, err := s.GetMember(ctx, list, addr, RoleMember)
	if err != nil {
		return SubscribeResult{}, err
	}
	l, err := s.GetList(ctx, list)
	if err != nil {
		return SubscribeResult{}, err
	}
	tok, err := s.newToken()
	if err != nil {
		return SubscribeResult{}, err
	}
	now := s.now()
	res := SubscribeResult{List: l.Address(), Address: m.Address, State: PendingUnsubscribe, Token: tok,
		Expires: now.Add(time.Duration(l.Settings.ConfirmDays) * 24 * time.Hour)}
	_, err = s.db.ExecContext(ctx, `INSERT INTO pending_unsub (list_id, address, addr_key, token_hash, via, created, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (list_id, addr_key) DO UPDATE SET token_hash = excluded.token_hash, via = excluded.via,
			created = excluded.created, expires = excluded.expires`,
		l.ID, m.Address, addrKey(m.Address), tokenHash(tok), via, now.UnixNano(), res.Expires.UnixNano())
	if err != nil {
		return SubscribeResult{}, fmt.Errorf("lists: unsubscribe request %s: %w", m.Address, err)
	}
	return res, nil
}

// confirmUnsubscribe completes the unsubscription named by token. An
// address that already left counts as done.
func (s *Store) confirmUnsubscribe(ctx context.Context, token string) (SubscribeResult, error) {
	var (
		id, expires    int64
		addr           string
		lname, ldomain string
	)
	err := s.db.QueryRowContext(ctx, `SELECT p.id, p.address, p.expires, l.name, l.domain
		FROM pending_unsub p JOIN lists l ON l.id = p.list_id WHERE p.token_hash = ?`,
		tokenHash(token)).Scan(&id, &addr, &expires, &lname, &ldomain)
	if errors.Is(err, sql.ErrNoRows) {
		return SubscribeResult{}, &TokenError{}
	}
	if err != nil {
		return SubscribeResult{}, fmt.Errorf("lists: confirm: %w", err)
	}
	res := SubscribeResult{List: lname + "@" + ldomain, Address: addr}
	if !s.now().Before(time.Unix(0, expires)) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM pending_unsub WHERE id = ?`, id); err != nil {
			return res, fmt.Errorf("lists: confirm: %w", err)
		}
		return res, &TokenError{Expired: true}
	}
	var nf *NotFoundError
	if err := s.Unsubscribe(ctx, res.List, addr); err != nil && !errors.As(err, &nf) {
		return res, err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM pending_unsub WHERE id = ?`, id); err != nil {
		return res, fmt.Errorf("lists: confirm: %w", err)
	}
	res.State = Unsubscribed
	return res, nil
}
