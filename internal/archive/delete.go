package archive

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
)

// Delete removes post number of list, leaving a tombstone: the row keeps
// its number, permalink, Message-ID, content hash (so that re-importing the
// post does not bring it back) and references (so that its replies stay
// threaded), and records when, why and by whom. The raw message, subject,
// author and search entry are removed. Deleting a tombstone does nothing.
func (a *Archive) Delete(ctx context.Context, list string, number int64, reason, by string) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	fail := func(err error) error { return &Error{Op: "delete", List: list, Err: err} }
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if err := lockList(ctx, tx, list); err != nil {
		return fail(err)
	}
	var id, tid int64
	var deleted sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT id, thread_id, deleted_at FROM archive_messages WHERE list = ? AND number = ?`,
		list, number).Scan(&id, &tid, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return &NotFoundError{List: list, Key: strconv.FormatInt(number, 10)}
	}
	if err != nil {
		return fail(err)
	}
	if deleted.Valid {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM archive_raw WHERE id = ?`, id); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE archive_messages SET size = 0, subject = '', base_subject = '',
		is_reply = 0, from_name = '', from_addr = '', deleted_at = ?, deleted_reason = ?, deleted_by = ? WHERE id = ?`,
		a.now().Unix(), reason, by, id); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM archive_fts WHERE rowid = ?`, id); err != nil {
		return fail(err)
	}
	// Without its subject the post may no longer hold subject-only replies.
	msgs, err := loadThreadMsgs(ctx, tx, `list = ? AND thread_id = ?`, list, tid)
	if err != nil {
		return fail(err)
	}
	if err := a.storePlaces(ctx, tx, msgs); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}
