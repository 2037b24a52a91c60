package archive

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// entryColumns are the columns scanEntry reads.
const entryColumns = "list, number, permalink, message_id, subject, from_name, from_addr, date, received, thread_id, parent_number, depth, size, legacy_path, parse_error, deleted_at, deleted_reason, deleted_by"

// prefixedColumns are entryColumns of the table alias prefix ("m.").
func prefixedColumns(prefix string) string {
	return prefix + strings.ReplaceAll(entryColumns, ", ", ", "+prefix)
}

type scanner interface{ Scan(dest ...any) error }

func scanEntry(s scanner) (*Entry, error) {
	var e Entry
	var date, received int64
	var legacy sql.NullString
	var deleted sql.NullInt64
	if err := s.Scan(&e.List, &e.Number, &e.Permalink, &e.MessageID, &e.Subject, &e.FromName, &e.FromAddr,
		&date, &received, &e.ThreadID, &e.ParentNumber, &e.Depth, &e.Size, &legacy, &e.ParseError,
		&deleted, &e.DeletedReason, &e.DeletedBy); err != nil {
		return nil, err
	}
	e.Date = time.Unix(date, 0).UTC()
	e.Received = time.Unix(received, 0).UTC()
	e.LegacyPath = legacy.String
	if deleted.Valid {
		e.Deleted = true
		e.DeletedAt = time.Unix(deleted.Int64, 0).UTC()
	}
	return &e, nil
}

func getWhere(ctx context.Context, q querier, where string, args ...any) (*Entry, error) {
	return scanEntry(q.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM archive_messages WHERE `+where, args...))
}

func listEntries(ctx context.Context, q querier, query string, args ...any) ([]*Entry, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (a *Archive) get(ctx context.Context, op, list, key, where string, args ...any) (*Entry, error) {
	e, err := getWhere(ctx, a.db, where, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{List: list, Key: key}
	}
	if err != nil {
		return nil, &Error{Op: op, List: list, Err: err}
	}
	return e, nil
}

// Get returns post number of list, or its tombstone (Deleted set).
func (a *Archive) Get(ctx context.Context, list string, number int64) (*Entry, error) {
	return a.get(ctx, "get", list, strconv.FormatInt(number, 10), "list = ? AND number = ?", list, number)
}

// GetByPermalink returns the post of list with that permalink.
func (a *Archive) GetByPermalink(ctx context.Context, list, perm string) (*Entry, error) {
	return a.get(ctx, "get", list, perm, "list = ? AND permalink = ?", list, perm)
}

// Raw returns the message as archived; *DeletedError for a tombstone.
func (a *Archive) Raw(ctx context.Context, list string, number int64) ([]byte, error) {
	var raw []byte
	var deleted sql.NullInt64
	err := a.db.QueryRowContext(ctx, `SELECT r.raw, m.deleted_at FROM archive_messages m
		LEFT JOIN archive_raw r ON r.id = m.id WHERE m.list = ? AND m.number = ?`,
		list, number).Scan(&raw, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &NotFoundError{List: list, Key: strconv.FormatInt(number, 10)}
	}
	if err != nil {
		return nil, &Error{Op: "raw", List: list, Err: err}
	}
	if deleted.Valid {
		return nil, &DeletedError{List: list, Number: number}
	}
	return raw, nil
}

// MonthCount is how many live posts a list has in a month (UTC).
type MonthCount struct {
	Year  int
	Month time.Month
	Count int
}

// Months returns the months with posts, newest first.
func (a *Archive) Months(ctx context.Context, list string) ([]MonthCount, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT strftime('%Y', date, 'unixepoch'), strftime('%m', date, 'unixepoch'), count(*)
		FROM archive_messages WHERE list = ? AND deleted_at IS NULL GROUP BY 1, 2 ORDER BY 1 DESC, 2 DESC`, list)
	if err != nil {
		return nil, &Error{Op: "months", List: list, Err: err}
	}
	defer rows.Close()
	var out []MonthCount
	for rows.Next() {
		var y, m string
		var c MonthCount
		if err := rows.Scan(&y, &m, &c.Count); err != nil {
			return nil, &Error{Op: "months", List: list, Err: err}
		}
		yi, _ := strconv.Atoi(y)
		mi, _ := strconv.Atoi(m)
		c.Year, c.Month = yi, time.Month(mi)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, &Error{Op: "months", List: list, Err: err}
	}
	return out, nil
}

func monthRange(year int, month time.Month) (int64, int64) {
	from := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	return from.Unix(), from.AddDate(0, 1, 0).Unix()
}

// ByMonth returns the live posts of a month (UTC), oldest first, and how
// many there are in all.
func (a *Archive) ByMonth(ctx context.Context, list string, year int, month time.Month, page Page) ([]*Entry, int, error) {
	return a.monthListing(ctx, "by-month", list, year, month, "date, number", page)
}

// ByAuthor returns the live posts of a month (UTC) ordered by author
// (name, then address), then date — pipermail's "by author" view — and how
// many there are in all.
func (a *Archive) ByAuthor(ctx context.Context, list string, year int, month time.Month, page Page) ([]*Entry, int, error) {
	return a.monthListing(ctx, "by-author", list, year, month, "lower(from_name), from_addr, date, number", page)
}

func (a *Archive) monthListing(ctx context.Context, op, list string, year int, month time.Month, order string, page Page) ([]*Entry, int, error) {
	from, until := monthRange(year, month)
	const where = ` FROM archive_messages WHERE list = ? AND date >= ? AND date < ? AND deleted_at IS NULL`
	var total int
	if err := a.db.QueryRowContext(ctx, `SELECT count(*)`+where, list, from, until).Scan(&total); err != nil {
		return nil, 0, &Error{Op: op, List: list, Err: err}
	}
	es, err := listEntries(ctx, a.db, `SELECT `+entryColumns+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		list, from, until, page.limit(), page.Offset)
	if err != nil {
		return nil, 0, &Error{Op: op, List: list, Err: err}
	}
	return es, total, nil
}

// Latest returns the n most recent live posts by date (for the Atom feed).
func (a *Archive) Latest(ctx context.Context, list string, n int) ([]*Entry, error) {
	es, err := listEntries(ctx, a.db, `SELECT `+entryColumns+` FROM archive_messages
		WHERE list = ? AND deleted_at IS NULL ORDER BY date DESC, number DESC LIMIT ?`, list, n)
	if err != nil {
		return nil, &Error{Op: "latest", List: list, Err: err}
	}
	return es, nil
}

// Neighbours are the posts around one, NoNumber where there is none.
type Neighbours struct {
	PrevDate, NextDate     int64 // by date among the list's live posts
	PrevThread, NextThread int64 // in its thread's tree order
}

// Neighbours returns the previous and next live posts of number by date
// and within its thread.
func (a *Archive) Neighbours(ctx context.Context, list string, number int64) (Neighbours, error) {
	n := Neighbours{PrevDate: NoNumber, NextDate: NoNumber, PrevThread: NoNumber, NextThread: NoNumber}
	e, err := a.Get(ctx, list, number)
	if err != nil {
		return n, err
	}
	d := e.Date.Unix()
	q := func(query string, dst *int64) error {
		err := a.db.QueryRowContext(ctx, query, list, d, d, number).Scan(dst)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	if err := q(`SELECT number FROM archive_messages WHERE list = ? AND deleted_at IS NULL
		AND (date < ? OR (date = ? AND number < ?)) ORDER BY date DESC, number DESC LIMIT 1`, &n.PrevDate); err != nil {
		return n, &Error{Op: "neighbours", List: list, Err: err}
	}
	if err := q(`SELECT number FROM archive_messages WHERE list = ? AND deleted_at IS NULL
		AND (date > ? OR (date = ? AND number > ?)) ORDER BY date, number LIMIT 1`, &n.NextDate); err != nil {
		return n, &Error{Op: "neighbours", List: list, Err: err}
	}
	order, err := a.threadOrder(ctx, list, e.ThreadID)
	if err != nil {
		return n, err
	}
	for i, num := range order {
		if num != number {
			continue
		}
		if i > 0 {
			n.PrevThread = order[i-1]
		}
		if i+1 < len(order) {
			n.NextThread = order[i+1]
		}
	}
	return n, nil
}
