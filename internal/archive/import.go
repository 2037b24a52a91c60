package archive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Source yields the messages of an mbox (or any other store) in order.
// offset is where the message starts in the source, so that an interrupted
// import can resume there; fromDate is the date of its mbox "From " line
// (zero if unknown). Next returns io.EOF after the last message.
type Source interface {
	Next() (raw []byte, offset int64, fromDate time.Time, err error)
}

// ImportOptions tune Import.
type ImportOptions struct {
	// KeepNumbers numbers the i-th message of the source i, counting from
	// 0 as pipermail did, and records its pipermail address as LegacyPath —
	// unless the message carries an X-Posthorn-Archive-Number header (see
	// Export), whose number it keeps instead. A number already held by
	// another post is reported in ImportReport.Conflicts and the message
	// gets the next free number instead.
	KeepNumbers bool
	// PipermailName is the list name in pipermail paths; the part of the
	// list before "@" when empty.
	PipermailName string
	// Progress, if set, is called after every committed batch.
	Progress func(ImportProgress)
	// Checkpoint names this source (for example path, size and a hash of
	// its first 64 KiB). When set, the offset of the last committed message
	// is stored under it in each batch's transaction; see ResumeOffset.
	Checkpoint string
	// BatchSize is how many messages are committed per transaction; 500
	// when zero.
	BatchSize int
}

// ImportProgress is reported after every committed batch.
type ImportProgress struct {
	Messages int64 // read from the source so far (this run)
	Added    int64
	Bytes    int64 // of messages read
	Offset   int64 // source offset of the last committed message
	Elapsed  time.Duration
	Rate     float64 // messages per second
}

// ImportProblem is a message Import archived but wants a human to know about.
type ImportProblem struct {
	Index     int64 // position in the source, from 0
	Offset    int64
	Number    int64 // number it was archived under
	MessageID string
	Problem   string
}

// ImportReport sums up an Import.
type ImportReport struct {
	Messages int64 // read from the source
	Added    int64
	Existing int64 // already archived: not added again
	Skipped  int64 // before the checkpoint: not read again
	Bytes    int64
	// Unparsed lists messages whose header could not be read: archived
	// raw, never dropped.
	Unparsed []ImportProblem
	// Conflicts lists messages whose kept number was taken.
	Conflicts []ImportProblem
	Elapsed   time.Duration
}

// checkpoint is the stored state of an interrupted import.
type checkpoint struct {
	found  bool
	offset int64
	idx    int64
}

// ResumeOffset returns where the import under key should resume: the offset
// of its last committed message (0 when there is none). Reading again from
// there is safe: that message is already archived and is not added twice.
func (a *Archive) ResumeOffset(ctx context.Context, key string) (int64, error) {
	cp, err := loadCheckpoint(ctx, a.db, key)
	if err != nil {
		return 0, &Error{Op: "resume", Err: err}
	}
	return cp.offset, nil
}

func loadCheckpoint(ctx context.Context, q querier, key string) (checkpoint, error) {
	var cp checkpoint
	if key == "" {
		return cp, nil
	}
	err := q.QueryRowContext(ctx, `SELECT offset, idx FROM archive_checkpoints WHERE key = ?`, key).Scan(&cp.offset, &cp.idx)
	if errors.Is(err, sql.ErrNoRows) {
		return cp, nil
	}
	cp.found = err == nil
	return cp, err
}

// Import archives every message of src in list, in order, committing
// BatchSize messages per transaction. It is deterministic (the same source
// into the same archive gives the same numbers) and idempotent (a message
// already archived is not added again). When the source starts at a
// checkpoint's offset (the caller seeked to ResumeOffset), counting
// continues from there; when it starts before, the messages up to the
// checkpoint are skipped without being parsed.
func (a *Archive) Import(ctx context.Context, list string, src Source, o ImportOptions) (ImportReport, error) {
	var rep ImportReport
	start := a.now()
	batchSize := o.BatchSize
	if batchSize <= 0 {
		batchSize = 500
	}
	pname := o.PipermailName
	if pname == "" {
		pname, _, _ = strings.Cut(list, "@")
	}
	fail := func(err error) (ImportReport, error) {
		rep.Elapsed = a.now().Sub(start)
		var e *Error
		if errors.As(err, &e) {
			return rep, err
		}
		return rep, &Error{Op: "import", List: list, Err: err}
	}
	cp, err := loadCheckpoint(ctx, a.db, o.Checkpoint)
	if err != nil {
		return fail(err)
	}
	// A batch is never cut by cancellation (database/sql would roll it
	// back): ctx is checked between messages and what was read is kept.
	txCtx := context.WithoutCancel(ctx)
	b := &importBatch{a: a, list: list, key: o.Checkpoint}
	defer b.rollback()
	var index int64
	first := true
	for {
		if err := ctx.Err(); err != nil {
			// Keep what was read: the checkpoint lets a rerun resume.
			return fail(errors.Join(err, b.commit(txCtx)))
		}
		raw, off, fromDate, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(errors.Join(err, b.commit(txCtx)))
		}
		if first && cp.found && off == cp.offset && off > 0 {
			index = cp.idx
		}
		first = false
		if cp.found && off < cp.offset {
			index++
			rep.Skipped++
			continue
		}
		rep.Messages++
		rep.Bytes += int64(len(raw))
		if err := b.begin(txCtx); err != nil {
			return fail(err)
		}
		if err := a.importOne(txCtx, b.tx, list, pname, raw, off, fromDate, index, o.KeepNumbers, &rep); err != nil {
			return fail(err)
		}
		b.note(off, index)
		index++
		if b.n >= batchSize {
			if err := b.commit(txCtx); err != nil {
				return fail(err)
			}
			a.progress(o.Progress, &rep, b.offset, start)
		}
	}
	if err := b.commit(txCtx); err != nil {
		return fail(err)
	}
	a.progress(o.Progress, &rep, b.offset, start)
	rep.Elapsed = a.now().Sub(start)
	return rep, nil
}

func (a *Archive) progress(f func(ImportProgress), rep *ImportReport, off int64, start time.Time) {
	if f == nil {
		return
	}
	el := a.now().Sub(start)
	p := ImportProgress{Messages: rep.Messages, Added: rep.Added, Bytes: rep.Bytes, Offset: off, Elapsed: el}
	if el > 0 {
		p.Rate = float64(rep.Messages) / el.Seconds()
	}
	f(p)
}

// importOne archives one message of the source in tx.
func (a *Archive) importOne(ctx context.Context, tx *sql.Tx, list, pname string, raw []byte, off int64, fromDate time.Time,
	index int64, keep bool, rep *ImportReport) error {
	raw, given, hasGiven := StripNumberHeader(raw)
	o := AddOptions{FallbackDate: fromDate}
	if keep {
		o.KeepNumber, o.Number = true, index
		if hasGiven {
			o.Number = given
		} else {
			o.pipermail = pname
		}
	}
	e, added, err := a.addTx(ctx, tx, list, raw, o)
	var taken *NumberTakenError
	if errors.As(err, &taken) {
		o.KeepNumber, o.pipermail = false, ""
		e, added, err = a.addTx(ctx, tx, list, raw, o)
		if err == nil {
			rep.Conflicts = append(rep.Conflicts, ImportProblem{Index: index, Offset: off, Number: e.Number,
				MessageID: e.MessageID, Problem: taken.Error()})
		}
	}
	if err != nil {
		return err
	}
	if !added {
		rep.Existing++
		return nil
	}
	rep.Added++
	if e.ParseError != "" {
		rep.Unparsed = append(rep.Unparsed, ImportProblem{Index: index, Offset: off, Number: e.Number,
			MessageID: e.MessageID, Problem: e.ParseError})
	}
	return nil
}

// importBatch is the open transaction of an import and what it holds.
type importBatch struct {
	a      *Archive
	list   string
	key    string
	tx     *sql.Tx
	n      int
	offset int64
	idx    int64
}

func (b *importBatch) begin(ctx context.Context) error {
	if b.tx != nil {
		return nil
	}
	b.a.writeMu.Lock()
	tx, err := b.a.db.BeginTx(ctx, nil)
	if err != nil {
		b.a.writeMu.Unlock()
		return err
	}
	b.tx, b.n = tx, 0
	return nil
}

func (b *importBatch) note(off, idx int64) {
	b.n++
	b.offset, b.idx = off, idx
}

// commit stores the checkpoint and commits; nothing to do without a batch.
func (b *importBatch) commit(ctx context.Context) error {
	if b.tx == nil {
		return nil
	}
	defer b.rollback()
	if b.key != "" && b.n > 0 {
		if _, err := b.tx.ExecContext(ctx, `INSERT INTO archive_checkpoints (key, list, offset, idx, done, updated)
			VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (key) DO UPDATE SET offset = excluded.offset, idx = excluded.idx,
			updated = excluded.updated`, b.key, b.list, b.offset, b.idx, b.a.now().Unix()); err != nil {
			return err
		}
	}
	return b.tx.Commit()
}

func (b *importBatch) rollback() {
	if b.tx == nil {
		return
	}
	b.tx.Rollback()
	b.tx = nil
	b.a.writeMu.Unlock()
}

// PipermailPath is the address pipermail (Mailman 2) gave article number n
// of list name dated date: /pipermail/NAME/YYYY-Month/NNNNNN.html, with the
// English month name and the number zero-padded to six digits.
func PipermailPath(name string, date time.Time, n int64) string {
	d := date.UTC()
	return fmt.Sprintf("/pipermail/%s/%04d-%s/%06d.html", name, d.Year(), d.Month(), n)
}

// LegacyRedirect returns the number of the post of list that had path in
// a previous archive (see PipermailPath). A query string or fragment is
// ignored.
func (a *Archive) LegacyRedirect(ctx context.Context, list, path string) (int64, error) {
	p, _, _ := strings.Cut(path, "?")
	p, _, _ = strings.Cut(p, "#")
	var n int64
	err := a.db.QueryRowContext(ctx, `SELECT number FROM archive_messages WHERE list = ? AND legacy_path = ?`, list, p).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return NoNumber, &NotFoundError{List: list, Key: p}
	}
	if err != nil {
		return NoNumber, &Error{Op: "redirect", List: list, Err: err}
	}
	return n, nil
}
