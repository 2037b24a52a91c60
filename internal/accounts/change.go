package accounts

import (
	"context"
	"database/sql"
)

// ChangePassword is a logged-in user changing their own password: it
// checks current, applies the same rules as every other way of setting a
// password, stores the new hash, uses up the user's outstanding reset
// links and ends every session of the user except the one whose token is
// keepSession ("" ends them all). It returns how many sessions it ended.
//
// A wrong current password counts as a failed login of the account, and a
// locked account is refused before the password is checked, so a stolen
// session cannot be used to guess the password faster than the login page
// allows. Errors: *InvalidError (next breaks the rules; nothing counted),
// *LockedError, *CredentialsError (wrong current password, or a disabled
// account), *NotFoundError (no such user), else a database error.
func (s *Store) ChangePassword(ctx context.Context, userID int64, current, next, keepSession string) (int, error) {
	u, err := s.GetByID(ctx, userID)
	if err != nil {
		return 0, err
	}
	if err := checkPassword(next); err != nil {
		return 0, err
	}
	now := s.now()
	if until, err := s.lockedUntil(ctx, kindAccount, u.Email, now); err != nil || !until.IsZero() {
		return 0, lockedOr(err, until, false)
	}
	ok, err := s.verify(ctx, u.hash, current)
	if err != nil {
		return 0, err
	}
	if !ok || u.Disabled {
		until, err := s.recordFailure(ctx, kindAccount, u.Email, now, s.opts.AccountFailures)
		if err != nil {
			return 0, err
		}
		if !until.IsZero() {
			return 0, &LockedError{Until: until}
		}
		return 0, &CredentialsError{}
	}
	h, err := s.hash(ctx, next)
	if err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, dbErr(err)
	}
	defer tx.Rollback()
	at := s.now().UnixNano()
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`UPDATE users SET password = ?, password_changed = ? WHERE id = ?`, []any{h, at, u.ID}},
		{`UPDATE password_resets SET used = ? WHERE user_id = ? AND used = 0`, []any{at, u.ID}},
		{`DELETE FROM login_failures WHERE kind = ? AND key = ?`, []any{kindAccount, u.Email}},
	} {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return 0, dbErr(err)
		}
	}
	n, err := endOtherSessions(ctx, tx, u.ID, keepSession)
	if err != nil {
		return 0, err
	}
	return n, dbErr(tx.Commit())
}

// EndOtherSessions ends every session of a user except the one whose
// token is keepSession ("log out everywhere else"; "" ends them all), and
// returns how many it ended.
func (s *Store) EndOtherSessions(ctx context.Context, userID int64, keepSession string) (int, error) {
	return endOtherSessions(ctx, s.db, userID, keepSession)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func endOtherSessions(ctx context.Context, db execer, userID int64, keepSession string) (int, error) {
	var res sql.Result
	var err error
	if keepSession == "" {
		res, err = db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	} else {
		res, err = db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash != ?`, userID, tokenHash(keepSession))
	}
	if err != nil {
		return 0, dbErr(err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
