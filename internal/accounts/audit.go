package accounts

import (
	"context"
	"strings"
	"time"
)

// Entry is one line of the audit log: who (Actor, a user's email, or
// "cli:USER" for the command line) did what (Action, a short verb such as
// "login" or "held.approve") to which Target, on which List (empty for
// site-wide actions), with a free-form Detail.
type Entry struct {
	ID     int64
	At     time.Time // zero: now
	Actor  string
	Action string
	List   string
	Target string
	Detail string
}

// Filter selects audit entries, newest first.
type Filter struct {
	List   string // only this list ("" any)
	Actor  string // only this actor ("" any)
	Action string // only this action ("" any)
	// Limit bounds the entries returned: 100 when 0, at most 1000.
	Limit int
	// Before pages back: only entries with ID < Before (0: from the newest).
	Before int64
}

// Audit appends e to the audit log.
func (s *Store) Audit(ctx context.Context, e Entry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if e.Action == "" {
		return &InvalidError{Field: "audit action", Problem: "empty"}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, list, target, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		e.At.UnixNano(), e.Actor, e.Action, strings.ToLower(e.List), e.Target, e.Detail)
	return dbErr(err)
}

// AuditLog returns the entries matching f, newest first.
func (s *Store) AuditLog(ctx context.Context, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) { where = append(where, cond); args = append(args, arg) }
	if f.List != "" {
		add("list = ?", strings.ToLower(f.List))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > 1000:
		f.Limit = 1000
	}
	q := `SELECT id, at, actor, action, list, target, detail FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, append(args, f.Limit)...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.List, &e.Target, &e.Detail); err != nil {
			return nil, dbErr(err)
		}
		e.At = time.Unix(0, at)
		out = append(out, e)
	}
	return out, dbErr(rows.Err())
}
