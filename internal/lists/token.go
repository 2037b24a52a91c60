package lists

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// LookupToken tells what a confirmation token is for, changing nothing:
// State PendingConfirm (a subscription) or PendingUnsubscribe, with the
// list, the address and the token's expiry. It lets a web page show what
// its button will confirm before Confirm does it. An unknown token, or one
// already used, is a *TokenError; an expired one a *TokenError with
// Expired.
func (s *Store) LookupToken(ctx context.Context, token string) (SubscribeResult, error) {
	h := tokenHash(token)
	for _, q := range []struct {
		state SubState
		sql   string
		args  []any
	}{
		{PendingConfirm, `SELECT l.name, l.domain, p.address, p.expires FROM pending p JOIN lists l ON l.id = p.list_id
			WHERE p.token_hash = ? AND p.state = ?`, []any{h, string(PendingConfirm)}},
		{PendingUnsubscribe, `SELECT l.name, l.domain, p.address, p.expires FROM pending_unsub p JOIN lists l ON l.id = p.list_id
			WHERE p.token_hash = ?`, []any{h}},
	} {
		var name, domain, addr string
		var expires int64
		err := s.db.QueryRowContext(ctx, q.sql, q.args...).Scan(&name, &domain, &addr, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return SubscribeResult{}, fmt.Errorf("lists: token: %w", err)
		}
		res := SubscribeResult{List: name + "@" + domain, Address: addr, State: q.state, Expires: time.Unix(0, expires)}
		if !s.now().Before(res.Expires) {
			return res, &TokenError{Expired: true}
		}
		return res, nil
	}
	return SubscribeResult{}, &TokenError{}
}
