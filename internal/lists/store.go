package lists

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/store"
)

// Options configure a Store.
type Options struct {
	// Secret signs unsubscribe tokens; at least 16 bytes, the same on every
	// node and across restarts (links in old mail must keep working).
	Secret []byte
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand is the source of confirmation tokens and salts; crypto/rand when nil.
	Rand io.Reader
	// Logger receives rule errors and similar; slog.Default() when nil.
	Logger *slog.Logger
}

// Store keeps lists, members, pending subscriptions and decisions in a
// SQLite database opened by the caller with store.Open.
type Store struct {
	db     *sql.DB
	secret []byte
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
}

// New applies the "lists" migrations to db and returns a Store over it.
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if len(opts.Secret) < 16 {
		return nil, &InvalidError{Field: "secret", Value: "(hidden)", Problem: "need at least 16 bytes"}
	}
	if err := store.Migrate(ctx, db, "lists", migrations()); err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx, db, "lists-held", heldMigrations()); err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx, db, "lists-history", historyMigrations()); err != nil {
		return nil, err
	}
	s := &Store{db: db, secret: append([]byte(nil), opts.Secret...), now: opts.Now, rand: opts.Rand, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// List is a mailing list.
type List struct {
	ID          int64
	Name        string // local part, lowercase
	Domain      string // list domain, lowercase
	DisplayName string
	Description string
	Settings    Settings
	// HasModeratorPassword is set when a moderator password is configured
	// (the hash itself never leaves the store).
	HasModeratorPassword bool
	Rev                  int64 // increases on every change to the row
	Created              time.Time

	pwHash string
}

// Address is the posting address name@domain.
func (l *List) Address() string { return l.Name + "@" + l.Domain }

// ListSpec describes a list to create.
type ListSpec struct {
	Address     string // name@domain
	DisplayName string
	Description string
	// Settings, when nil, are DefaultSettings(name).
	Settings *Settings
	// Author is recorded as the author of settings version 1.
	Author string
}

func listKey(addr string) (name, domain string, err error) {
	a := strings.ToLower(strings.TrimSpace(addr))
	name, domain, ok := splitAddr(a)
	if !ok || strings.ContainsAny(a, " <>\"+") || strings.Count(a, "@") != 1 {
		return "", "", &InvalidError{Field: "list address", Value: addr, Problem: "want name@domain"}
	}
	return name, domain, nil
}

// CreateList creates a list.
func (s *Store) CreateList(ctx context.Context, spec ListSpec) (*List, error) {
	name, domain, err := listKey(spec.Address)
	if err != nil {
		return nil, err
	}
	if _, role, _, _ := ParseAddress(spec.Address); role != AddrPost {
		return nil, &InvalidError{Field: "list address", Value: spec.Address, Problem: "ends like a companion address (-" + role + ")"}
	}
	set := DefaultSettings(name)
	if spec.Settings != nil {
		set = *spec.Settings
	}
	js, err := marshalSettings(set)
	if err != nil {
		return nil, err
	}
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lists: create %s: %w", spec.Address, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO lists (name, domain, display_name, description, settings, created)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, name, domain, spec.DisplayName, spec.Description, string(js), now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("lists: create %s: %w", spec.Address, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, &ExistsError{What: "list", Key: name + "@" + domain}
	}
	if err := recordCreated(ctx, tx, res, name+"@"+domain, set, js, spec.Author, now); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("lists: create %s: %w", spec.Address, err)
	}
	return s.GetList(ctx, name+"@"+domain)
}

const listCols = `id, name, domain, display_name, description, settings, moderator_password, rev, created`

func scanList(row interface{ Scan(...any) error }) (*List, error) {
	var l List
	var js string
	var created int64
	if err := row.Scan(&l.ID, &l.Name, &l.Domain, &l.DisplayName, &l.Description, &js, &l.pwHash, &l.Rev, &created); err != nil {
		return nil, err
	}
	set, err := unmarshalSettings(l.Name, []byte(js))
	if err != nil {
		return nil, fmt.Errorf("lists: %s: %w", l.Address(), err)
	}
	l.Settings = set
	l.HasModeratorPassword = l.pwHash != ""
	l.Created = time.Unix(0, created)
	return &l, nil
}

// GetList returns the list with posting address addr.
func (s *Store) GetList(ctx context.Context, addr string) (*List, error) {
	name, domain, err := listKey(addr)
	if err != nil {
		return nil, err
	}
	l, err := scanList(s.db.QueryRowContext(ctx, `SELECT `+listCols+` FROM lists WHERE name = ? AND domain = ?`, name, domain))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{What: "list", Key: name + "@" + domain}
	}
	return l, err
}

// Lists returns every list, ordered by address.
func (s *Store) Lists(ctx context.Context) ([]*List, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+listCols+` FROM lists ORDER BY domain, name`)
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	defer rows.Close()
	var out []*List
	for rows.Next() {
		l, err := scanList(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// UpdateList changes display name, description and settings (validated).
// A settings change is recorded in the history without author, reason or
// check; prefer ChangeSettings.
func (s *Store) UpdateList(ctx context.Context, addr, displayName, description string, set Settings) error {
	_, err := s.saveSettings(ctx, addr, set, Change{Reason: reasonUnsaid}, 0, `display_name = ?, description = ?`, displayName, description)
	return err
}

// SetSettings replaces a list's settings (validated), recording a version
// without author, reason or check; prefer ChangeSettings.
func (s *Store) SetSettings(ctx context.Context, addr string, set Settings) error {
	_, err := s.saveSettings(ctx, addr, set, Change{Reason: reasonUnsaid}, 0, "")
	return err
}

// SetModeratorPassword sets (or with "" clears) the moderator password used
// by the approved rule. Only a salted hash is stored.
func (s *Store) SetModeratorPassword(ctx context.Context, addr, password string) error {
	h := ""
	if password != "" {
		var err error
		if h, err = hashPassword(s.rand, password); err != nil {
			return err
		}
	}
	return s.updateList(ctx, addr, `moderator_password = ?`, h)
}

func (s *Store) updateList(ctx context.Context, addr, set string, args ...any) error {
	name, domain, err := listKey(addr)
	if err != nil {
		return err
	}
	args = append(args, name, domain)
	res, err := s.db.ExecContext(ctx, `UPDATE lists SET `+set+`, rev = rev + 1 WHERE name = ? AND domain = ?`, args...)
	if err != nil {
		return fmt.Errorf("lists: update %s: %w", addr, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{What: "list", Key: name + "@" + domain}
	}
	return nil
}

// DeleteList deletes a list with its members, pending subscriptions and decisions.
func (s *Store) DeleteList(ctx context.Context, addr string) error {
	name, domain, err := listKey(addr)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM lists WHERE name = ? AND domain = ?`, name, domain)
	if err != nil {
		return fmt.Errorf("lists: delete %s: %w", addr, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &NotFoundError{What: "list", Key: name + "@" + domain}
	}
	return nil
}

// ResolveAddress maps a recipient address to an existing list and the
// address's role (see ParseAddress). An address that is itself a list's
// posting address is a post, even if it looks like a companion address.
func (s *Store) ResolveAddress(ctx context.Context, addr string) (l *List, role, extra string, err error) {
	a := strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	if local, domain, ok := splitAddr(a); ok && !strings.Contains(local, "+") {
		l, err := s.GetList(ctx, local+"@"+domain)
		var nf *NotFoundError
		var inv *InvalidError
		switch {
		case err == nil:
			return l, AddrPost, "", nil
		case !errors.As(err, &nf) && !errors.As(err, &inv):
			return nil, "", "", err
		}
	}
	list, role, extra, ok := ParseAddress(a)
	if !ok {
		return nil, "", "", &InvalidError{Field: "address", Value: addr, Problem: "want local@domain"}
	}
	l, err = s.GetList(ctx, list)
	if err != nil {
		return nil, "", "", err
	}
	return l, role, extra, nil
}
