package lists

// Settings history.
//
// Every write of a list's settings adds a row to list_versions in the same
// transaction as the write: version 1 is the settings the list was created
// with (or, for a list created before history was kept, the settings it had
// at its first change), and each later version records the whole Settings
// JSON with its author, reason and time. A restore copies an old version's
// settings into a new version; history is never rewritten.
//
//	CreateList ───────────────────────────────▶ version 1
//	ChangeSettings ─ CheckSettings ─ warnings? ─ Confirm? ─ no ─▶ *NeedsConfirmation (nothing written)
//	                                 └─ none ──────────────┴─ yes ─▶ version n+1
//	Restore(k) = ChangeSettings(settings of version k)   ─▶ version n+1 (restored_from k)
//	SetSettings, UpdateList (unchecked, unattributed)     ─▶ version n+1

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// historyMigrations are the ordered schema steps of the "lists-history"
// component, applied after the "lists" steps. Append only.
func historyMigrations() []string {
	return []string{
		// 1: settings versions; settings is the whole Settings JSON of the
		// version; restored_from is the version a restore copied (0 if none).
		`CREATE TABLE list_versions (
			id INTEGER PRIMARY KEY,
			list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
			version INTEGER NOT NULL,
			settings TEXT NOT NULL,
			author TEXT NOT NULL,
			reason TEXT NOT NULL,
			restored_from INTEGER NOT NULL DEFAULT 0,
			at INTEGER NOT NULL,
			UNIQUE (list_id, version)
		)`,
	}
}

// Change says who changes a list's settings and why.
type Change struct {
	Author string
	Reason string
	// Confirm accepts the warnings of CheckSettings: without it a change
	// that has warnings is refused with *NeedsConfirmation.
	Confirm bool
}

// Version is one recorded state of a list's settings.
type Version struct {
	List         string    `json:"list"`
	Number       int       `json:"version"`
	Settings     Settings  `json:"settings"`
	Author       string    `json:"author"`
	Reason       string    `json:"reason"`
	RestoredFrom int       `json:"restored_from,omitempty"`
	Time         time.Time `json:"time"`
}

// Reasons recorded for versions written without a Change.
const (
	reasonCreated  = "list created"
	reasonBaseline = "settings before history was kept"
	reasonUnsaid   = "changed without a reason (SetSettings/UpdateList)"
)

// ChangeSettings replaces list's settings with set and records a new
// version. The change is first checked with CheckSettings; when that finds
// warnings and ch.Confirm is false, nothing is written and the error is a
// *NeedsConfirmation carrying them. Author and reason are required. When set
// equals the current settings nothing is written and the current version is
// returned.
func (s *Store) ChangeSettings(ctx context.Context, list string, set Settings, ch Change) (Version, []Warning, error) {
	return s.changeChecked(ctx, list, set, ch, 0)
}

// Restore makes the settings of version an old version of list the current
// settings, as a new version (with the same check as ChangeSettings).
func (s *Store) Restore(ctx context.Context, list string, version int, ch Change) (Version, []Warning, error) {
	v, err := s.GetVersion(ctx, list, version)
	if err != nil {
		return Version{}, nil, err
	}
	return s.changeChecked(ctx, list, v.Settings, ch, version)
}

func (s *Store) changeChecked(ctx context.Context, list string, set Settings, ch Change, restoredFrom int) (Version, []Warning, error) {
	ch.Author, ch.Reason = strings.TrimSpace(ch.Author), strings.TrimSpace(ch.Reason)
	if ch.Author == "" {
		return Version{}, nil, &InvalidError{Field: "author", Value: "", Problem: "a settings change needs an author"}
	}
	if ch.Reason == "" {
		return Version{}, nil, &InvalidError{Field: "reason", Value: "", Problem: "a settings change needs a reason"}
	}
	if err := set.Validate(); err != nil {
		return Version{}, nil, err
	}
	warns, err := s.CheckSettings(ctx, list, set)
	if err != nil {
		return Version{}, nil, err
	}
	if len(warns) > 0 && !ch.Confirm {
		return Version{}, warns, &NeedsConfirmation{List: strings.ToLower(list), Warnings: warns}
	}
	v, err := s.saveSettings(ctx, list, set, ch, restoredFrom, "")
	return v, warns, err
}

// saveSettings writes set (and, when cols is not "", the extra assignments
// cols with args, e.g. "display_name = ?") to list and records a version,
// in one transaction. Unchanged settings add no version.
func (s *Store) saveSettings(ctx context.Context, list string, set Settings, ch Change, restoredFrom int, cols string, args ...any) (Version, error) {
	js, err := marshalSettings(set)
	if err != nil {
		return Version{}, err
	}
	name, domain, err := listKey(list)
	if err != nil {
		return Version{}, err
	}
	laddr := name + "@" + domain
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Version{}, fmt.Errorf("lists: %w", err)
	}
	defer tx.Rollback()
	// Write first, so that this transaction holds the write lock before it
	// reads (no lock upgrade that could fail under a concurrent writer).
	res, err := tx.ExecContext(ctx, `UPDATE lists SET rev = rev + 1 WHERE name = ? AND domain = ?`, name, domain)
	if err != nil {
		return Version{}, fmt.Errorf("lists: update %s: %w", laddr, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Version{}, &NotFoundError{What: "list", Key: laddr}
	}
	var id, created int64
	var oldJS string
	if err := tx.QueryRowContext(ctx, `SELECT id, settings, created FROM lists WHERE name = ? AND domain = ?`,
		name, domain).Scan(&id, &oldJS, &created); err != nil {
		return Version{}, fmt.Errorf("lists: update %s: %w", laddr, err)
	}
	head, err := s.ensureBaseline(ctx, tx, laddr, id, oldJS, created)
	if err != nil {
		return Version{}, err
	}
	if cols != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE lists SET `+cols+` WHERE id = ?`, append(args, id)...); err != nil {
			return Version{}, fmt.Errorf("lists: update %s: %w", laddr, err)
		}
	}
	if string(js) == canonicalJS(name, oldJS) {
		if err := tx.Commit(); err != nil {
			return Version{}, fmt.Errorf("lists: update %s: %w", laddr, err)
		}
		return head, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE lists SET settings = ? WHERE id = ?`, string(js), id); err != nil {
		return Version{}, fmt.Errorf("lists: update %s: %w", laddr, err)
	}
	v := Version{List: laddr, Number: head.Number + 1, Settings: set, Author: ch.Author, Reason: ch.Reason,
		RestoredFrom: restoredFrom, Time: s.now()}
	if err := insertVersion(ctx, tx, id, v, js); err != nil {
		return Version{}, err
	}
	if err := tx.Commit(); err != nil {
		return Version{}, fmt.Errorf("lists: update %s: %w", laddr, err)
	}
	return v, nil
}

// canonicalJS re-encodes stored settings the way marshalSettings would, so
// that a change is detected by value, not by spelling ("" if unreadable).
func canonicalJS(name, stored string) string {
	set, err := unmarshalSettings(name, []byte(stored))
	if err != nil {
		return ""
	}
	js, err := marshalSettings(set)
	if err != nil {
		return ""
	}
	return string(js)
}

type execQuerier interface {
	querier
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ensureBaseline returns the newest version of list id, first recording the
// current settings as version 1 if the list has no history yet.
func (s *Store) ensureBaseline(ctx context.Context, q execQuerier, laddr string, id int64, curJS string, created int64) (Version, error) {
	vs, err := s.versions(ctx, q, laddr, id, `ORDER BY version DESC LIMIT 1`)
	if err != nil || len(vs) == 1 {
		return first(vs), err
	}
	name, _, _ := strings.Cut(laddr, "@")
	set, err := unmarshalSettings(name, []byte(curJS))
	if err != nil {
		return Version{}, fmt.Errorf("lists: %s: %w", laddr, err)
	}
	v := Version{List: laddr, Number: 1, Settings: set, Reason: reasonBaseline, Time: time.Unix(0, created)}
	return v, insertVersion(ctx, q, id, v, []byte(curJS))
}

func first(vs []Version) Version {
	if len(vs) == 0 {
		return Version{}
	}
	return vs[0]
}

func insertVersion(ctx context.Context, q execQuerier, listID int64, v Version, js []byte) error {
	_, err := q.ExecContext(ctx, `INSERT INTO list_versions (list_id, version, settings, author, reason, restored_from, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, listID, v.Number, string(js), v.Author, v.Reason, v.RestoredFrom, v.Time.UnixNano())
	if err != nil {
		return fmt.Errorf("lists: %s: record settings version %d: %w", v.List, v.Number, err)
	}
	return nil
}

// History returns every settings version of list, oldest first. A list
// whose settings never changed since history was kept has one version.
func (s *Store) History(ctx context.Context, list string) ([]Version, error) {
	l, err := s.GetList(ctx, list)
	if err != nil {
		return nil, err
	}
	vs, err := s.versions(ctx, s.db, l.Address(), l.ID, `ORDER BY version`)
	if err != nil || len(vs) > 0 {
		return vs, err
	}
	// Not yet recorded: the current settings are the baseline.
	return []Version{{List: l.Address(), Number: 1, Settings: l.Settings, Reason: reasonBaseline, Time: l.Created}}, nil
}

// GetVersion returns version n of list's settings.
func (s *Store) GetVersion(ctx context.Context, list string, n int) (Version, error) {
	vs, err := s.History(ctx, list)
	if err != nil {
		return Version{}, err
	}
	for _, v := range vs {
		if v.Number == n {
			return v, nil
		}
	}
	return Version{}, &NotFoundError{What: "settings version", Key: fmt.Sprintf("%s#%d", strings.ToLower(list), n)}
}

func (s *Store) versions(ctx context.Context, q execQuerier, laddr string, id int64, order string) ([]Version, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, settings, author, reason, restored_from, at
		FROM list_versions WHERE list_id = ? `+order, id)
	if err != nil {
		return nil, fmt.Errorf("lists: %s history: %w", laddr, err)
	}
	defer rows.Close()
	name, _, _ := strings.Cut(laddr, "@")
	var out []Version
	for rows.Next() {
		v := Version{List: laddr}
		var js string
		var at int64
		if err := rows.Scan(&v.Number, &js, &v.Author, &v.Reason, &v.RestoredFrom, &at); err != nil {
			return nil, fmt.Errorf("lists: %s history: %w", laddr, err)
		}
		if v.Settings, err = unmarshalSettings(name, []byte(js)); err != nil {
			return nil, fmt.Errorf("lists: %s version %d: %w", laddr, v.Number, err)
		}
		v.Time = time.Unix(0, at)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lists: %s history: %w", laddr, err)
	}
	return out, nil
}

// recordCreated records the settings of a list just inserted (res) in tx as
// its version 1.
func recordCreated(ctx context.Context, tx *sql.Tx, res sql.Result, laddr string, set Settings, js []byte, author string, now time.Time) error {
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("lists: create %s: %w", laddr, err)
	}
	v := Version{List: laddr, Number: 1, Settings: set, Author: strings.TrimSpace(author), Reason: reasonCreated, Time: now}
	return insertVersion(ctx, tx, id, v, js)
}
