// Package store opens Posthorn's embedded SQLite databases and applies each
// component's ordered schema migrations.
//
// A database file can hold the tables of several components (lists, stats,
// ...). Each component owns an ordered list of migration steps; the number of
// steps already applied is kept per component in the schema_migrations table,
// so components evolve independently. A step is applied once, in its own
// transaction, and steps are never edited after release: a change is a new
// step appended to the list.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options tune Open.
type Options struct {
	// ReadOnly opens the database for queries only (the CLI reading a live
	// daemon's data); migrations are not applied.
	ReadOnly bool
}

// Open opens (creating if needed) the SQLite database at path in WAL mode
// with foreign keys on and a busy timeout, so that a reader in another
// process (the CLI) never fails on a writer's lock.
func Open(path string, opts Options) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if opts.ReadOnly {
		q.Add("mode", "ro")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// MigrationError says which step of which component failed.
type MigrationError struct {
	Component string
	Step      int // 1-based
	Err       error
}

func (e *MigrationError) Error() string {
	return fmt.Sprintf("store: migration %s step %d: %v", e.Component, e.Step, e.Err)
}

func (e *MigrationError) Unwrap() error { return e.Err }

// Migrate applies the steps of component that are not yet applied, in
// order, each in its own transaction together with the version bump. A
// database whose recorded version is ahead of len(steps) (written by a newer
// Posthorn) is refused rather than used.
func Migrate(ctx context.Context, db *sql.DB, component string, steps []string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT PRIMARY KEY, version INTEGER NOT NULL)`); err != nil {
		return &MigrationError{Component: component, Err: err}
	}
	var have int
	err := db.QueryRowContext(ctx, `SELECT version FROM schema_migrations WHERE component = ?`, component).Scan(&have)
	if err != nil && err != sql.ErrNoRows {
		return &MigrationError{Component: component, Err: err}
	}
	if have > len(steps) {
		return &MigrationError{Component: component, Step: have,
			Err: fmt.Errorf("database schema is version %d, this program knows %d: it was written by a newer Posthorn", have, len(steps))}
	}
	for i := have; i < len(steps); i++ {
		if err := applyStep(ctx, db, component, i+1, steps[i]); err != nil {
			return &MigrationError{Component: component, Step: i + 1, Err: err}
		}
	}
	return nil
}

func applyStep(ctx context.Context, db *sql.DB, component string, version int, stmt string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (component, version) VALUES (?, ?)
		ON CONFLICT (component) DO UPDATE SET version = excluded.version`, component, version); err != nil {
		return err
	}
	return tx.Commit()
}
