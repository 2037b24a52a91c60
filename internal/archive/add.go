package archive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// AddOptions tune Add.
type AddOptions struct {
	// KeepNumber asks for Number instead of the next one of the sequence
	// (import --keep-numbers). It fails with *NumberTakenError when another
	// post, live or deleted, holds that number. The counter moves above it.
	KeepNumber bool
	Number     int64
	// Received is when the list accepted the post; now when zero.
	Received time.Time
	// FallbackDate dates a post whose Date header is missing or unreadable
	// (for example the date of its mbox "From " line); Received when zero.
	FallbackDate time.Time
	// LegacyPath is the post's address in a previous archive (pipermail),
	// served as a redirect by LegacyRedirect.
	LegacyPath string

	// pipermail, set by Import with KeepNumbers, is the list name for the
	// LegacyPath made from the post's date and number (PipermailPath).
	pipermail string
}

// Add archives raw in list. A post already archived (same Message-ID and
// same content hash, or same content when it has no Message-ID) is not added
// again: Add returns the existing entry and false. A post reusing a
// Message-ID with different content is added, with a permalink of its own,
// and logged.
func (a *Archive) Add(ctx context.Context, list string, raw []byte, o AddOptions) (*Entry, bool, error) {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, &Error{Op: "add", List: list, Err: err}
	}
	defer tx.Rollback()
	e, added, err := a.addTx(ctx, tx, list, raw, o)
	if err != nil {
		return nil, false, err
	}
	if err := tx.Commit(); err != nil {
		return nil, false, &Error{Op: "add", List: list, Err: err}
	}
	return e, added, nil
}

// lockList makes sure the list's counter row exists. Being a write, it
// takes SQLite's write lock as the first statement of the transaction, so
// that no other writer can slip in between reading and bumping the counter.
func lockList(ctx context.Context, tx *sql.Tx, list string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO archive_lists (list, next_number) VALUES (?, 1)
		ON CONFLICT (list) DO NOTHING`, list)
	return err
}

func (a *Archive) addTx(ctx context.Context, tx *sql.Tx, list string, raw []byte, o AddOptions) (*Entry, bool, error) {
	fail := func(err error) (*Entry, bool, error) {
		var nt *NumberTakenError
		if errors.As(err, &nt) {
			return nil, false, err
		}
		return nil, false, &Error{Op: "add", List: list, Err: err}
	}
	if list == "" {
		return fail(errors.New("empty list name"))
	}
	if err := lockList(ctx, tx, list); err != nil {
		return fail(err)
	}
	p := parseHeader(raw)
	hash := contentHash(raw)

	existing, reused, err := findSame(ctx, tx, list, p.messageID, hash)
	if err != nil {
		return fail(err)
	}
	if existing != 0 {
		e, err := getWhere(ctx, tx, "id = ?", existing)
		if err != nil {
			return fail(err)
		}
		return e, false, nil
	}

	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT next_number FROM archive_lists WHERE list = ?`, list).Scan(&next); err != nil {
		return fail(err)
	}
	number := next
	if o.KeepNumber {
		if o.Number < 0 {
			return fail(fmt.Errorf("number %d is negative", o.Number))
		}
		var holder string
		err := tx.QueryRowContext(ctx, `SELECT permalink FROM archive_messages WHERE list = ? AND number = ?`, list, o.Number).Scan(&holder)
		if err == nil {
			return fail(&NumberTakenError{List: list, Number: o.Number, By: holder})
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fail(err)
		}
		number = o.Number
	}
	if _, err := tx.ExecContext(ctx, `UPDATE archive_lists SET next_number = max(next_number, ?) WHERE list = ?`, number+1, list); err != nil {
		return fail(err)
	}

	now := a.now()
	received := o.Received
	if received.IsZero() {
		received = now
	}
	date := p.date
	if date.IsZero() {
		date = o.FallbackDate
	}
	if date.IsZero() {
		date = received
	}
	perm := permalink(p.messageID, hash, reused)
	if reused {
		a.log.Info("archive: Message-ID reused with different content",
			slog.String("list", list), slog.String("message_id", p.messageID), slog.Int64("number", number))
	}
	var legacy any
	if o.LegacyPath != "" {
		legacy = o.LegacyPath
	} else if o.pipermail != "" {
		legacy = PipermailPath(o.pipermail, date, number)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO archive_messages (list, number, permalink, message_id,
		content_hash, subject, base_subject, is_reply, from_name, from_addr, date, received, in_reply_to,
		refs, thread_id, parent_number, depth, size, legacy_path, parse_error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
		list, number, perm, p.messageID, hash, p.subject, p.base, p.isReply, p.fromName, p.fromAddr,
		date.Unix(), received.Unix(), lastRef(p.refs), strings.Join(p.refs, " "), number, NoNumber,
		len(raw), legacy, p.err)
	if err != nil {
		return fail(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO archive_raw (id, raw) VALUES (?, ?)`, id, raw); err != nil {
		return fail(err)
	}
	for _, r := range p.refs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO archive_refs (list, ref, msg) VALUES (?, ?, ?)`, list, r, id); err != nil {
			return fail(err)
		}
	}
	if err := a.index(ctx, tx, id, p.subject, p.fromName, p.fromAddr, raw); err != nil {
		return fail(err)
	}
	m := threadMsg{id: id, number: number, messageID: p.messageID, refs: p.refs, base: p.base, isReply: p.isReply, date: date.Unix()}
	if err := a.threadNew(ctx, tx, list, m); err != nil {
		return fail(err)
	}
	e, err := getWhere(ctx, tx, "id = ?", id)
	if err != nil {
		return fail(err)
	}
	return e, true, nil
}

func lastRef(refs []string) string {
	if len(refs) == 0 {
		return ""
	}
	return refs[len(refs)-1]
}

// findSame looks for a post of list that is the same as this one. It
// returns its row id (0 if none) and whether another post already uses the
// Message-ID.
func findSame(ctx context.Context, tx *sql.Tx, list, messageID, hash string) (int64, bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, content_hash FROM archive_messages
		WHERE list = ? AND message_id = ? AND (message_id <> '' OR content_hash = ?)`, list, messageID, hash)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var reused bool
	for rows.Next() {
		var id int64
		var h string
		if err := rows.Scan(&id, &h); err != nil {
			return 0, false, err
		}
		if h == hash {
			return id, false, nil
		}
		reused = true
	}
	return 0, reused, rows.Err()
}
