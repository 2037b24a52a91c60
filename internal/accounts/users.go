package accounts

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"strings"
	"time"
)

// User is one account. The password hash never leaves the package.
type User struct {
	ID              int64
	Email           string // lowercased; the login name
	Name            string
	SiteAdmin       bool
	Disabled        bool
	Created         time.Time
	PasswordChanged time.Time

	hash string
}

// NewUser describes an account to add.
type NewUser struct {
	Email     string
	Name      string
	Password  string
	SiteAdmin bool
}

// NormalizeEmail lowercases and checks an address (a bare addr-spec, no
// display name).
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e, "@") || len(e) > 254 {
		return "", &InvalidError{Field: "email", Problem: "want an address like name@example.org"}
	}
	return e, nil
}

const userCols = `id, email, name, password, site_admin, disabled, created, password_changed`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created, changed int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.hash, &u.SiteAdmin, &u.Disabled, &created, &changed); err != nil {
		return nil, err
	}
	u.Created, u.PasswordChanged = time.Unix(0, created), time.Unix(0, changed)
	return &u, nil
}

// Add creates an account.
func (s *Store) Add(ctx context.Context, nu NewUser) (*User, error) {
	email, err := NormalizeEmail(nu.Email)
	if err != nil {
		return nil, err
	}
	if err := checkPassword(nu.Password); err != nil {
		return nil, err
	}
	h, err := s.hash(ctx, nu.Password)
	if err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	res, err := s.db.ExecContext(ctx, `INSERT INTO users (email, name, password, site_admin, created, password_changed)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING`, email, strings.TrimSpace(nu.Name), h, nu.SiteAdmin, now, now)
	if err != nil {
		return nil, dbErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, &ExistsError{What: "user", Key: email}
	}
	return s.Get(ctx, email)
}

// Get returns the account of email.
func (s *Store) Get(ctx context.Context, email string) (*User, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, e))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{What: "user", Key: e}
	}
	return u, dbErr(err)
}

// GetByID returns the account with id.
func (s *Store) GetByID(ctx context.Context, id int64) (*User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{What: "user"}
	}
	return u, dbErr(err)
}

// List returns every account, ordered by email.
func (s *Store) List(ctx context.Context) ([]*User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY email`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, u)
	}
	return out, dbErr(rows.Err())
}

// SetPassword changes the password of email and ends all its sessions.
func (s *Store) SetPassword(ctx context.Context, email, password string) error {
	u, err := s.Get(ctx, email)
	if err != nil {
		return err
	}
	return s.setPassword(ctx, u, password)
}

func (s *Store) setPassword(ctx context.Context, u *User, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	if err := s.update(ctx, u.Email, `password = ?, password_changed = ?`, h, s.now().UnixNano()); err != nil {
		return err
	}
	return s.EndAllSessions(ctx, u.ID)
}

// SetSiteAdmin grants (true) or revokes the site administrator flag.
func (s *Store) SetSiteAdmin(ctx context.Context, email string, admin bool) error {
	return s.update(ctx, email, `site_admin = ?`, admin)
}

// SetDisabled disables (true) or enables an account. Disabling ends its
// sessions; a disabled account cannot log in or use its API tokens.
func (s *Store) SetDisabled(ctx context.Context, email string, disabled bool) error {
	if err := s.update(ctx, email, `disabled = ?`, disabled); err != nil {
		return err
	}
	if !disabled {
		return nil
	}
	u, err := s.Get(ctx, email)
	if err != nil {
		return err
	}
	return s.EndAllSessions(ctx, u.ID)
}

func (s *Store) update(ctx context.Context, email, set string, args ...any) error {
	e := strings.ToLower(strings.TrimSpace(email))
	res, err := s.db.ExecContext(ctx, `UPDATE users SET `+set+` WHERE email = ?`, append(args, e)...)
	if err != nil {
		return dbErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{What: "user", Key: e}
	}
	return nil
}
