package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// APITokenPrefix starts every API token, so that a leaked one is easy to
// recognise (in a log, a paste, a secret scanner).
const APITokenPrefix = "ph_"

// APITokenInfo describes an API token; the token itself is not kept.
type APITokenInfo struct {
	ID       int64
	UserID   int64
	Name     string
	Created  time.Time
	LastUsed time.Time // zero: never
	Revoked  bool
}

// MaxTokenName bounds an API token's name, in characters.
const MaxTokenName = 100

// NewAPIToken creates a token acting as the user, named for its purpose,
// and returns it: this is the only time it is seen.
func (s *Store) NewAPIToken(ctx context.Context, userID int64, name string) (string, error) {
	token, _, err := s.CreateAPIToken(ctx, userID, name)
	return token, err
}

// CreateAPIToken is NewAPIToken that also describes the new token (its id
// for the audit log and for revoking it).
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name string) (string, APITokenInfo, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", APITokenInfo{}, &InvalidError{Field: "token name", Problem: "say what the token is for"}
	case utf8.RuneCountInString(name) > MaxTokenName || !utf8.ValidString(name):
		return "", APITokenInfo{}, &InvalidError{Field: "token name", Problem: fmt.Sprintf("at most %d characters", MaxTokenName)}
	}
	if _, err := s.GetByID(ctx, userID); err != nil {
		return "", APITokenInfo{}, err
	}
	raw, err := s.randomToken()
	if err != nil {
		return "", APITokenInfo{}, err
	}
	token := APITokenPrefix + raw
	now := s.now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, user_id, name, created) VALUES (?, ?, ?, ?)`,
		tokenHash(token), userID, name, now.UnixNano())
	if err != nil {
		return "", APITokenInfo{}, dbErr(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return "", APITokenInfo{}, dbErr(err)
	}
	return token, APITokenInfo{ID: id, UserID: userID, Name: name, Created: time.Unix(0, now.UnixNano())}, nil
}

// APIToken returns the user a token acts as. An unknown or revoked token,
// or a disabled user, is a *NotFoundError.
func (s *Store) APIToken(ctx context.Context, token string) (*User, error) {
	if !strings.HasPrefix(token, APITokenPrefix) {
		return nil, &NotFoundError{What: "API token"}
	}
	var id, userID, lastUsed int64
	err := s.db.QueryRowContext(ctx, `SELECT id, user_id, last_used FROM api_tokens WHERE token_hash = ? AND revoked = 0`,
		tokenHash(token)).Scan(&id, &userID, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{What: "API token"}
	}
	if err != nil {
		return nil, dbErr(err)
	}
	u, err := s.GetByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, &NotFoundError{What: "API token"}
	}
	now := s.now()
	if now.Sub(time.Unix(0, lastUsed)) >= touchEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, now.UnixNano(), id); err != nil {
			return nil, dbErr(err)
		}
	}
	return u, nil
}

// APITokens lists a user's tokens, revoked ones included, oldest first.
func (s *Store) APITokens(ctx context.Context, userID int64) ([]APITokenInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, name, created, last_used, revoked FROM api_tokens
		WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []APITokenInfo
	for rows.Next() {
		var t APITokenInfo
		var created, used int64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &created, &used, &t.Revoked); err != nil {
			return nil, dbErr(err)
		}
		t.Created = time.Unix(0, created)
		if used != 0 {
			t.LastUsed = time.Unix(0, used)
		}
		out = append(out, t)
	}
	return out, dbErr(rows.Err())
}

// RevokeAPIToken revokes token id of a user.
func (s *Store) RevokeAPIToken(ctx context.Context, userID, id int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET revoked = 1 WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return dbErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{What: "API token"}
	}
	return nil
}
