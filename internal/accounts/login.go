package accounts

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"time"
)

const (
	kindAccount = "account"
	kindIP      = "ip"
)

// Authenticate checks email and password from clientIP (may be empty).
// Errors: *LockedError when the account or the client is locked (also
// returned by the failure that sets the lock), *CredentialsError for any
// other refusal, else a database error. Unknown addresses take as long as
// known ones and are counted and locked alike.
func (s *Store) Authenticate(ctx context.Context, email, password, clientIP string) (*User, error) {
	now := s.now()
	key := strings.ToLower(strings.TrimSpace(email))
	if len(key) > 254 {
		key = key[:254]
	}
	ipKey := clientKey(clientIP)
	if ipKey != "" {
		if until, err := s.lockedUntil(ctx, kindIP, ipKey, now); err != nil || !until.IsZero() {
			return nil, lockedOr(err, until, true)
		}
	}
	if key != "" {
		if until, err := s.lockedUntil(ctx, kindAccount, key, now); err != nil || !until.IsZero() {
			return nil, lockedOr(err, until, false)
		}
	}
	u, err := s.Get(ctx, key)
	var nf *NotFoundError
	var hash string
	switch {
	case err == nil:
		hash = u.hash
	case errors.As(err, &nf):
		u = nil
		if hash, err = s.dummy(); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	ok, err := s.verify(ctx, hash, password)
	if err != nil && u != nil {
		s.opts.Logger.Error("stored password hash unreadable", slog.String("user", u.Email), slog.String("error", err.Error()))
	}
	if ok && u != nil && !u.Disabled {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE kind = ? AND key = ?`, kindAccount, key); err != nil {
			return nil, dbErr(err)
		}
		return u, nil
	}
	var lock *LockedError
	if ipKey != "" {
		until, err := s.recordFailure(ctx, kindIP, ipKey, now, s.opts.IPFailures)
		if err != nil {
			return nil, err
		}
		if !until.IsZero() {
			lock = &LockedError{Until: until, Client: true}
		}
	}
	if key != "" {
		until, err := s.recordFailure(ctx, kindAccount, key, now, s.opts.AccountFailures)
		if err != nil {
			return nil, err
		}
		if !until.IsZero() {
			lock = &LockedError{Until: until}
		}
	}
	if lock != nil {
		return nil, lock
	}
	return nil, &CredentialsError{}
}

func lockedOr(err error, until time.Time, client bool) error {
	if err != nil {
		return err
	}
	return &LockedError{Until: until, Client: client}
}

// clientKey is the key an IP is counted under: the address itself for
// IPv4, its /64 for IPv6 (one host usually holds a whole /64).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return strings.TrimSpace(ip)
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// lockedUntil returns the end of a lock in force at now, or zero.
func (s *Store) lockedUntil(ctx context.Context, kind, key string, now time.Time) (time.Time, error) {
	var until int64
	err := s.db.QueryRowContext(ctx, `SELECT until FROM login_locks WHERE kind = ? AND key = ?`, kind, key).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, dbErr(err)
	}
	if until > now.UnixNano() {
		return time.Unix(0, until), nil
	}
	return time.Time{}, nil
}

// recordFailure stores one failure and, when it makes limit failures
// within the window (not counting those before the last lock), locks key
// and returns the lock's end.
func (s *Store) recordFailure(ctx context.Context, kind, key string, now time.Time, limit int) (time.Time, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return time.Time{}, dbErr(err)
	}
	defer tx.Rollback()
	at := now.UnixNano()
	if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (kind, key, at) VALUES (?, ?, ?)`, kind, key, at); err != nil {
		return time.Time{}, dbErr(err)
	}
	since := now.Add(-s.opts.FailureWindow).UnixNano()
	var lockedAt int64
	err = tx.QueryRowContext(ctx, `SELECT locked_at FROM login_locks WHERE kind = ? AND key = ?`, kind, key).Scan(&lockedAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, dbErr(err)
	}
	since = max(since, lockedAt)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE kind = ? AND key = ? AND at > ?`,
		kind, key, since).Scan(&n); err != nil {
		return time.Time{}, dbErr(err)
	}
	var until time.Time
	if n >= limit {
		until = now.Add(s.opts.LockFor)
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_locks (kind, key, locked_at, until) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, key) DO UPDATE SET locked_at = excluded.locked_at, until = excluded.until`,
			kind, key, at, until.UnixNano()); err != nil {
			return time.Time{}, dbErr(err)
		}
		s.opts.Logger.Warn("login locked after repeated failures", slog.String("kind", kind), slog.String("key", key),
			slog.Int("failures", n), slog.Time("until", until))
	}
	return until, dbErr(tx.Commit())
}

// Unlock lifts the lock of an account and forgets its failures (an
// administrator's action, or a completed password reset).
func (s *Store) Unlock(ctx context.Context, email string) error {
	key := strings.ToLower(strings.TrimSpace(email))
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE kind = ? AND key = ?`, kindAccount, key); err != nil {
		return dbErr(err)
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM login_locks WHERE kind = ? AND key = ?`, kindAccount, key)
	return dbErr(err)
}

// Prune deletes what can no longer matter: failures older than the
// window, ended locks, expired sessions and resets. The daemon calls it
// now and then; nothing depends on it for correctness.
func (s *Store) Prune(ctx context.Context) error {
	now := s.now()
	stmts := []struct {
		q   string
		arg int64
	}{
		{`DELETE FROM login_failures WHERE at < ?`, now.Add(-s.opts.FailureWindow).UnixNano()},
		{`DELETE FROM login_locks WHERE until < ?`, now.Add(-s.opts.FailureWindow).UnixNano()},
		{`DELETE FROM sessions WHERE last_seen < ?`, now.Add(-s.opts.IdleTimeout).UnixNano()},
		{`DELETE FROM sessions WHERE created < ?`, now.Add(-s.opts.MaxLifetime).UnixNano()},
		{`DELETE FROM password_resets WHERE expires < ?`, now.Add(-24 * time.Hour).UnixNano()},
	}
	for _, st := range stmts {
		if _, err := s.db.ExecContext(ctx, st.q, st.arg); err != nil {
			return dbErr(err)
		}
	}
	return nil
}
