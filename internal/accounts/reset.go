package accounts

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"
)

// StartReset begins a password reset for email and returns the token to
// mail to it (in a link). For an unknown or disabled address, or when the
// account already had ResetsPerHour resets in the last hour, it returns ""
// and no error: the caller says the same thing either way ("if the address
// has an account, a link is on its way") and sends nothing.
func (s *Store) StartReset(ctx context.Context, email string) (string, error) {
	u, err := s.Get(ctx, email)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if u.Disabled {
		return "", nil
	}
	now := s.now()
	var recent int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM password_resets WHERE user_id = ? AND created > ?`,
		u.ID, now.Add(-time.Hour).UnixNano()).Scan(&recent); err != nil {
		return "", dbErr(err)
	}
	if recent >= s.opts.ResetsPerHour {
		s.opts.Logger.Warn("password reset refused: too many requests", slog.String("user", u.Email), slog.Int("last_hour", recent))
		return "", nil
	}
	token, err := s.randomToken()
	if err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, created, expires) VALUES (?, ?, ?, ?)`,
		tokenHash(token), u.ID, now.UnixNano(), now.Add(s.opts.ResetTTL).UnixNano()); err != nil {
		return "", dbErr(err)
	}
	return token, nil
}

// CheckReset returns the user a reset token is for, without using it
// (to show the new-password form). An unknown, used or expired token is a
// *NotFoundError.
func (s *Store) CheckReset(ctx context.Context, token string) (*User, error) {
	_, u, err := s.reset(ctx, token)
	return u, err
}

func (s *Store) reset(ctx context.Context, token string) (id int64, u *User, err error) {
	var userID int64
	err = s.db.QueryRowContext(ctx, `SELECT id, user_id FROM password_resets WHERE token_hash = ? AND used = 0 AND expires > ?`,
		tokenHash(token), s.now().UnixNano()).Scan(&id, &userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, &NotFoundError{What: "reset link"}
	}
	if err != nil {
		return 0, nil, dbErr(err)
	}
	if u, err = s.GetByID(ctx, userID); err != nil {
		return 0, nil, err
	}
	if u.Disabled {
		return 0, nil, &NotFoundError{What: "reset link"}
	}
	return id, u, nil
}

// FinishReset sets a new password with a reset token. The token is used
// up, and so are the user's other outstanding resets; every session of the
// user ends and the account's login lock is lifted. A password that breaks
// the rules (*InvalidError) leaves the token usable.
func (s *Store) FinishReset(ctx context.Context, token, newPassword string) (*User, error) {
	if err := checkPassword(newPassword); err != nil {
		return nil, err
	}
	id, u, err := s.reset(ctx, token)
	if err != nil {
		return nil, err
	}
	h, err := s.hash(ctx, newPassword)
	if err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, dbErr(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE password_resets SET used = ? WHERE id = ? AND used = 0`, now, id)
	if err != nil {
		return nil, dbErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, &NotFoundError{What: "reset link"} // used by a concurrent request
	}
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`UPDATE password_resets SET used = ? WHERE user_id = ? AND used = 0`, []any{now, u.ID}},
		{`UPDATE users SET password = ?, password_changed = ? WHERE id = ?`, []any{h, now, u.ID}},
		{`DELETE FROM sessions WHERE user_id = ?`, []any{u.ID}},
		{`DELETE FROM login_failures WHERE kind = ? AND key = ?`, []any{kindAccount, u.Email}},
		{`DELETE FROM login_locks WHERE kind = ? AND key = ?`, []any{kindAccount, u.Email}},
	} {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return nil, dbErr(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, dbErr(err)
	}
	return s.GetByID(ctx, u.ID)
}
