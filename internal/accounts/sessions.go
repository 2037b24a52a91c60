package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"
)

// Session is a login session. Its token is known only to the browser.
type Session struct {
	ID       int64
	UserID   int64
	Created  time.Time
	LastSeen time.Time
	// Expires is when the session ends if not used again: the earlier of
	// LastSeen+IdleTimeout and Created+MaxLifetime.
	Expires  time.Time
	ClientIP string
	// CSRFSecret is the session's own secret from which the web layer
	// derives the token its forms must carry.
	CSRFSecret []byte
}

// touchEvery bounds how often Session writes last_seen: a busy page does
// not write the database on every request.
const touchEvery = time.Minute

// NewSession starts a session for user (after Authenticate or a reset) and
// returns its token, to be given to the browser and never stored.
func (s *Store) NewSession(ctx context.Context, userID int64, clientIP string) (token string, sess *Session, err error) {
	token, err = s.randomToken()
	if err != nil {
		return "", nil, err
	}
	secret := make([]byte, 32)
	if _, err := io.ReadFull(s.opts.Rand, secret); err != nil {
		return "", nil, fmt.Errorf("accounts: random: %w", err)
	}
	now := s.now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, csrf_secret, created, last_seen, client_ip)
		VALUES (?, ?, ?, ?, ?, ?)`, tokenHash(token), userID, secret, now.UnixNano(), now.UnixNano(), clientIP)
	if err != nil {
		return "", nil, dbErr(err)
	}
	id, _ := res.LastInsertId()
	sess = &Session{ID: id, UserID: userID, Created: now, LastSeen: now, ClientIP: clientIP, CSRFSecret: secret}
	sess.Expires = s.expires(sess)
	return token, sess, nil
}

func (s *Store) expires(sess *Session) time.Time {
	idle := sess.LastSeen.Add(s.opts.IdleTimeout)
	abs := sess.Created.Add(s.opts.MaxLifetime)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// Session returns the user and session of token and marks the session as
// used. An unknown, expired or ended session, or one whose user is
// disabled, is a *NotFoundError.
func (s *Store) Session(ctx context.Context, token string) (*User, *Session, error) {
	if token == "" {
		return nil, nil, &NotFoundError{What: "session"}
	}
	var sess Session
	var created, seen int64
	err := s.db.QueryRowContext(ctx, `SELECT id, user_id, csrf_secret, created, last_seen, client_ip FROM sessions WHERE token_hash = ?`,
		tokenHash(token)).Scan(&sess.ID, &sess.UserID, &sess.CSRFSecret, &created, &seen, &sess.ClientIP)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, &NotFoundError{What: "session"}
	}
	if err != nil {
		return nil, nil, dbErr(err)
	}
	sess.Created, sess.LastSeen = time.Unix(0, created), time.Unix(0, seen)
	now := s.now()
	if !now.Before(s.expires(&sess)) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, sess.ID); err != nil {
			return nil, nil, dbErr(err)
		}
		return nil, nil, &NotFoundError{What: "session"}
	}
	u, err := s.GetByID(ctx, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.Disabled {
		return nil, nil, &NotFoundError{What: "session"}
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id = ?`, now.UnixNano(), sess.ID); err != nil {
			return nil, nil, dbErr(err)
		}
		sess.LastSeen = now
	}
	sess.Expires = s.expires(&sess)
	return u, &sess, nil
}

// EndSession ends the session of token (logout). Ending an unknown session
// is not an error.
func (s *Store) EndSession(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(token))
	return dbErr(err)
}

// EndAllSessions ends every session of a user (password change, disabled
// account, "log out everywhere").
func (s *Store) EndAllSessions(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return dbErr(err)
}
