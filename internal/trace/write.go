package trace

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/posthorn/posthorn/internal/maillog"
)

// stmts are the writer's prepared inserts: one row, and insertRows rows.
type stmts struct {
	seg, segN   *sql.Stmt
	rcpt, rcptN *sql.Stmt
}

func (p *stmts) prepare(ctx context.Context, conn *sql.Conn) error {
	for _, s := range []struct {
		dst         **sql.Stmt
		table, cols string
		n           int
	}{
		{&p.seg, "segments", segmentCols, 1}, {&p.segN, "segments", segmentCols, insertRows},
		{&p.rcpt, "rcpts", rcptCols, 1}, {&p.rcptN, "rcpts", rcptCols, insertRows},
	} {
		st, err := conn.PrepareContext(ctx, insertSQL(s.table, s.cols, s.n))
		if err != nil {
			return fmt.Errorf("trace: prepare insert: %w", err)
		}
		*s.dst = st
	}
	return nil
}

func (p *stmts) close() {
	for _, s := range []*sql.Stmt{p.seg, p.segN, p.rcpt, p.rcptN} {
		if s != nil {
			s.Close()
		}
	}
}

// segment is one row to insert; its blob is blob[lo:hi] of the write.
type segment struct {
	id, time, upto                                    int64
	n                                                 int
	queueID, messageID, sender, service, list, parent string
	lo, hi                                            int
}

type rcptRow struct {
	addr      string
	time, seg int64
}

// writeState is the writer's memory, reused from one write to the next so
// that a write allocates little: the last segment id and event count
// written, and scratch space. Callers hold writeMu.
type writeState struct {
	lastID, upto int64

	groupOf map[string]int32    // queue id → group, within a write
	group   []int32             // per event: its group
	start   []int32             // per group: offset in order
	order   []int32             // events grouped, in record order within a group
	seen    map[string]struct{} // a segment's recipients so far
	segs    []segment
	rcpts   []rcptRow
	blob    []byte
	args    []any
}

// loadTail reads the last segment's id and event count. Callers hold
// writeMu or have not shared s yet.
func (s *Store) loadTail(ctx context.Context) error {
	s.w.lastID, s.w.upto = 0, 0
	err := s.conn.QueryRowContext(ctx, `SELECT id, upto FROM segments ORDER BY id DESC LIMIT 1`).Scan(&s.w.lastID, &s.w.upto)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("trace: %w", err)
	}
	return nil
}

// write stores batch in one transaction. Callers hold writeMu.
func (s *Store) write(ctx context.Context, batch []maillog.Event) error {
	w := &s.w
	lastID, upto := w.lastID, w.upto
	s.build(batch)
	err := s.insert(ctx)
	clear(w.segs[:cap(w.segs)]) // drop references to strings
	clear(w.rcpts[:cap(w.rcpts)])
	w.segs, w.rcpts = w.segs[:0], w.rcpts[:0]
	if err != nil {
		w.lastID, w.upto = lastID, upto
		return err
	}
	if cap(w.blob) > 4<<20 {
		w.blob = nil // a burst made it large
	}
	return nil
}

// build turns batch into w.segs and w.rcpts: the events grouped by queue
// id in the order of each queue id's first event, every group split into
// segments of at most maxSegmentEvents, an event without a queue id a
// segment of its own, and for each notice event the link segment.
func (s *Store) build(batch []maillog.Event) {
	w := &s.w
	if w.groupOf == nil {
		w.groupOf, w.seen = map[string]int32{}, map[string]struct{}{}
	}
	clear(w.groupOf)
	w.group = w.group[:0]
	ngroups := int32(0)
	for i := range batch {
		q := batch[i].QueueID
		g, ok := w.groupOf[q]
		if !ok || q == "" {
			g = ngroups
			ngroups++
			if q != "" {
				w.groupOf[q] = g
			}
		}
		w.group = append(w.group, g)
	}
	// Counting sort of the event indexes by group.
	w.start = zeroed(w.start, int(ngroups)+1)
	for _, g := range w.group {
		w.start[g+1]++
	}
	for g := range ngroups {
		w.start[g+1] += w.start[g]
	}
	w.order = zeroed(w.order, len(batch))
	for i, g := range w.group {
		w.order[w.start[g]] = int32(i)
		w.start[g]++
	}
	// start[g] is now the end of group g, the start of group g+1.
	w.blob = w.blob[:0]
	from := int32(0)
	for g := range ngroups {
		to := w.start[g]
		for lo := from; lo < to; lo += maxSegmentEvents {
			s.addSegment(batch, w.order[lo:min(to, lo+maxSegmentEvents)])
		}
		from = to
	}
}

// addSegment appends the segment of batch's events at idx (one queue id),
// its recipients and the links of the notices it generated.
func (s *Store) addSegment(batch []maillog.Event, idx []int32) {
	w := &s.w
	w.lastID++
	seg := segment{id: w.lastID, n: len(idx), queueID: batch[idx[0]].QueueID, time: batch[idx[0]].Time.UnixNano()}
	for _, i := range idx {
		seg.time = min(seg.time, batch[i].Time.UnixNano())
	}
	w.upto += int64(seg.n)
	seg.upto = w.upto
	seg.lo = len(w.blob)
	var enc encoder
	w.blob, enc = newEncoder(w.blob, seg.time)
	clear(w.seen)
	for _, i := range idx {
		e := &batch[i]
		w.blob = enc.add(w.blob, e)
		if headKind(e.Kind) {
			if seg.messageID == "" {
				seg.messageID = normMessageID(e.MessageID)
			}
			if seg.sender == "" {
				seg.sender = e.From
			}
			if seg.service == "" {
				seg.service = e.Service
			}
		}
		if seg.list == "" {
			seg.list = e.List
		}
		if e.Rcpt != "" {
			if _, dup := w.seen[e.Rcpt]; !dup {
				w.seen[e.Rcpt] = struct{}{}
				w.rcpts = append(w.rcpts, rcptRow{addr: e.Rcpt, time: e.Time.UnixNano(), seg: seg.id})
			}
		}
	}
	seg.hi = len(w.blob)
	w.segs = append(w.segs, seg)
	for _, i := range idx {
		e := &batch[i]
		if e.NoticeID != "" && e.NoticeID != seg.queueID && seg.queueID != "" {
			// An empty blob would be stored as NULL: the version byte
			// alone is a segment of no events.
			w.lastID++
			lo := len(w.blob)
			w.blob = append(w.blob, codecVersion)
			w.segs = append(w.segs, segment{id: w.lastID, time: e.Time.UnixNano(), upto: w.upto,
				queueID: e.NoticeID, parent: seg.queueID, lo: lo, hi: len(w.blob)})
		}
	}
}

// insert writes w.segs and w.rcpts in one transaction.
func (s *Store) insert(ctx context.Context) error {
	w := &s.w
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("trace: begin: %w", err)
	}
	defer tx.Rollback()
	err = s.insertRows(ctx, tx, s.stmts.seg, s.stmts.segN, len(w.segs), func(args []any, i int) []any {
		g := &w.segs[i]
		return append(args, g.id, g.time, null(g.queueID), null(g.messageID), null(g.sender), null(g.service),
			null(g.list), null(g.parent), g.n, g.upto, w.blob[g.lo:g.hi:g.hi])
	})
	if err != nil {
		return err
	}
	err = s.insertRows(ctx, tx, s.stmts.rcpt, s.stmts.rcptN, len(w.rcpts), func(args []any, i int) []any {
		r := &w.rcpts[i]
		return append(args, r.addr, r.time, r.seg)
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("trace: commit: %w", err)
	}
	return nil
}

// insertRows inserts rows rows, insertRows at a time with many and the
// rest one by one with one; row appends row i's values to args.
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, one, many *sql.Stmt, rows int,
	row func(args []any, i int) []any) error {
	oneTx, manyTx := tx.StmtContext(ctx, one), tx.StmtContext(ctx, many)
	defer clear(s.w.args)
	for i := 0; i < rows; {
		st, n := oneTx, 1
		if rows-i >= insertRows {
			st, n = manyTx, insertRows
		}
		s.w.args = s.w.args[:0]
		for j := i; j < i+n; j++ {
			s.w.args = row(s.w.args, j)
		}
		if _, err := st.ExecContext(ctx, s.w.args...); err != nil {
			return fmt.Errorf("trace: insert: %w", err)
		}
		i += n
	}
	return nil
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// zeroed is s resized to n zeros, reusing its array when large enough.
func zeroed(s []int32, n int) []int32 {
	s = slices.Grow(s[:0], n)[:n]
	clear(s)
	return s
}
