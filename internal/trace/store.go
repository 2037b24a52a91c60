// Package trace keeps every mail log event in SQLite (data_dir/trace.db) so
// that a message's whole history can be found again by queue id, Message-ID
// or address: posthorn trace and the web trace page read it.
//
// Flow: the mail log calls Record on the mail path. Record only appends the
// event to a bounded in-memory buffer and wakes the writer; when the buffer
// is full the event is dropped and counted (Dropped), so mail never waits for
// the disk. Run is the writer: it takes the whole buffer at once and writes
// it in one transaction (at most one write a second, so that a commit
// carries many events), prunes every minute, and writes what is left when
// its context ends. Flush writes the buffer now (tests, shutdown).
//
// Layout (schema.go, codec.go): a write groups its events by queue id; each
// group is one segment row holding the events as a compact blob, with the
// message's keys in indexed columns and one rcpts row per distinct
// recipient. A message received, delivered and removed within one write is
// one row and a few index entries however many events it had; a message
// deferred across writes has one segment per write. Lookups never look
// inside blobs: they find segments through the indexes and decode them.
//
// Durability: the trace is a record for people, not the mail's durable
// state (that is the spool). Commits are not fsynced (WAL with
// synchronous=NORMAL, set by store.Open), and events wait up to a second in
// memory before they are written, so a crash or power loss may lose the
// last second or two of trace events; the database itself stays
// consistent.
//
// Pruning: segment ids grow with time, so old segments are always the
// lowest ids. Retention (by a segment's earliest event) and MaxEvents (by
// the running event count upto) are enforced by deleting id ranges from
// the low end in chunks, with the rcpts rows that point into them, which
// never scans the table and never holds the write lock for long. A
// segment goes as a whole: the store never holds more than MaxEvents
// events, and a message deferred for longer than Retention keeps only its
// newer segments.
//
// Lookups (Reader.Lookup) go through small partial indexes: queue id on every
// segment, Message-ID, sender and service of the events that start a
// message (accepted, decision, held, rejected), list where set, and the
// recipients. A hit is widened to the whole message: all its segments, plus
// the segments of the bounce and delay notices it generated (linked by the
// notice event's NoticeID), with the events in time order.
package trace

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/store"
)

// Defaults for Options.
const (
	DefaultRetention = 14 * 24 * time.Hour
	DefaultMaxEvents = 20_000_000
	DefaultBuffer    = 65536
)

const (
	pruneEvery = time.Minute
	writePause = time.Second // events gather this long before a write
	pruneChunk = 5_000       // segments deleted per transaction
	pruneSteps = 50          // chunks per periodic prune; the rest waits for the next tick
)

// Options tune a Store. Zero values take the defaults.
type Options struct {
	Retention time.Duration    // segments whose earliest event is older are deleted; default 14 days
	MaxEvents int              // at most this many events are kept, oldest segments deleted first; default 20,000,000
	Buffer    int              // events waiting to be written before Record drops; default 65536
	Now       func() time.Time // clock; default time.Now
	Logger    *slog.Logger     // write errors; default discards
}

// Store is the trace store: a maillog.Sink that writes events to SQLite,
// and a Reader over the same database.
type Store struct {
	*Reader
	opts Options
	db   *sql.DB

	mu      sync.Mutex
	pending []maillog.Event
	spare   []maillog.Event
	wake    chan struct{}
	dropped atomic.Uint64

	writeMu sync.Mutex // one writer: Run, Flush and Prune take turns
	conn    *sql.Conn
	stmts   stmts
	w       writeState
	closed  bool
	chunk   int64 // segments deleted per prune transaction
}

// New migrates db (opened read-write with store.Open) to the trace schema
// and returns a Store writing to it. Call Run to start writing and Close
// when done.
func New(db *sql.DB, opts Options) (*Store, error) {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = DefaultMaxEvents
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx := context.Background()
	if err := store.Migrate(ctx, db, "trace", migrations); err != nil {
		return nil, err
	}
	// One dedicated connection for writing, tuned by writerPragmas.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	for _, p := range writerPragmas {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			conn.Close()
			return nil, fmt.Errorf("trace: %s: %w", p, err)
		}
	}
	st := &Store{
		Reader: &Reader{db: db},
		opts:   opts,
		db:     db,
		wake:   make(chan struct{}, 1),
		conn:   conn,
		chunk:  pruneChunk,
	}
	if err := st.stmts.prepare(ctx, conn); err != nil {
		st.stmts.close()
		conn.Close()
		return nil, err
	}
	if err := st.loadTail(ctx); err != nil {
		st.stmts.close()
		conn.Close()
		return nil, err
	}
	return st, nil
}

// Record queues e for writing. It never blocks: when the buffer is full the
// event is dropped and counted. Session events and events about no message
// (no queue id, Message-ID or address) are not kept.
func (s *Store) Record(e maillog.Event) {
	if e.Kind == maillog.Session || (e.QueueID == "" && e.MessageID == "" && e.From == "" && e.Rcpt == "") {
		return
	}
	if e.Time.IsZero() {
		e.Time = s.opts.Now()
	}
	s.mu.Lock()
	if len(s.pending) >= s.opts.Buffer {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	s.pending = append(s.pending, e)
	first := len(s.pending) == 1
	s.mu.Unlock()
	if first { // the writer takes the whole buffer: one wake-up is enough
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Dropped is the number of events lost because the buffer was full or a
// write failed.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

// Run writes recorded events until ctx ends, then writes what is left and
// returns. It prunes at start and every minute.
func (s *Store) Run(ctx context.Context) {
	// Writes are short and must not be cut off half way by ctx: a
	// cancelled write would lose its batch.
	wctx := context.WithoutCancel(ctx)
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	pause := time.NewTimer(0)
	defer pause.Stop()
	<-pause.C
	s.prune(wctx, pruneSteps)
	for {
		select {
		case <-ctx.Done():
			drain, cancel := context.WithTimeout(wctx, 10*time.Second)
			defer cancel()
			if err := s.Flush(drain); err != nil && err != errClosed {
				s.opts.Logger.Error("trace: final write failed", slog.String("error", err.Error()))
			}
			return
		case <-s.wake:
			// Let events gather for a moment: one commit per many events
			// writes each touched index page once for all of them.
			pause.Reset(writePause)
			select {
			case <-pause.C:
			case <-ctx.Done():
			}
			if err := s.Flush(wctx); err != nil && err != errClosed {
				s.opts.Logger.Error("trace: write failed", slog.String("error", err.Error()))
			}
		case <-tick.C:
			s.prune(wctx, pruneSteps)
		}
	}
}

// Flush writes every event recorded so far. Events of a failed write are
// dropped and counted.
func (s *Store) Flush(ctx context.Context) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	batch := s.take()
	if len(batch) == 0 {
		return nil
	}
	err := s.write(ctx, batch)
	if err != nil {
		s.dropped.Add(uint64(len(batch)))
	}
	s.recycle(batch)
	return err
}

// take empties the buffer and returns its events.
func (s *Store) take() []maillog.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.pending
	s.pending = s.spare[:0]
	s.spare = nil
	return batch
}

// recycle keeps a written batch's array as the next buffer, unless a burst
// made it large.
func (s *Store) recycle(batch []maillog.Event) {
	clear(batch) // drop references to strings
	s.mu.Lock()
	if cap(batch) <= 8192 {
		s.spare = batch[:0]
	}
	s.mu.Unlock()
}

// Prune deletes every segment beyond retention or MaxEvents now.
func (s *Store) Prune(ctx context.Context) error {
	return s.prune(ctx, -1)
}

func (s *Store) prune(ctx context.Context, steps int) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	cutoff := s.opts.Now().Add(-s.opts.Retention).UnixNano()
	deleted := int64(0)
	for i := 0; steps < 0 || i < steps; i++ {
		n, more, err := s.pruneChunk(ctx, cutoff)
		deleted += n
		if err != nil {
			s.opts.Logger.Error("trace: prune failed", slog.String("error", err.Error()))
			return err
		}
		if !more {
			break
		}
	}
	if deleted > 0 {
		s.opts.Logger.Debug("trace: pruned", slog.Int64("events", deleted))
	}
	return nil
}

// pruneChunk deletes at most s.chunk of the oldest segments if they are
// past retention or beyond MaxEvents, with their recipients; more says
// whether another chunk may be due. Callers hold writeMu.
func (s *Store) pruneChunk(ctx context.Context, cutoff int64) (n int64, more bool, err error) {
	var lo, hi, hiUpto sql.NullInt64
	if err := s.conn.QueryRowContext(ctx, `SELECT min(id), max(id) FROM segments`).Scan(&lo, &hi); err != nil {
		return 0, false, err
	}
	if !lo.Valid {
		return 0, false, nil
	}
	if err := s.conn.QueryRowContext(ctx, `SELECT upto FROM segments WHERE id = ?`, hi.Int64).Scan(&hiUpto); err != nil {
		return 0, false, err
	}
	end := lo.Int64 + s.chunk
	// A segment holds events upto-n+1 .. upto; those numbered up to limit
	// exceed MaxEvents, and so does every segment that holds one.
	limit := hiUpto.Int64 - int64(s.opts.MaxEvents)
	first := func(cond string, arg int64) (int64, error) {
		var id int64
		err := s.conn.QueryRowContext(ctx, `SELECT id FROM segments WHERE id >= ? AND id < ? AND `+cond+
			` ORDER BY id LIMIT 1`, lo.Int64, end, arg).Scan(&id)
		if err == sql.ErrNoRows {
			return end, nil
		}
		return id, err
	}
	young, err := first(`time >= ?`, cutoff) // the first segment inside retention
	if err != nil {
		return 0, false, err
	}
	within, err := first(`upto - n >= ?`, limit) // the first one within MaxEvents
	if err != nil {
		return 0, false, err
	}
	cut := max(young, within)
	if cut <= lo.Int64 {
		return 0, false, nil
	}
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	if n, err = deleteBelow(ctx, tx, cut); err != nil {
		return 0, false, err
	}
	if err := tx.Commit(); err != nil {
		return 0, false, err
	}
	return n, cut == end && cut <= hi.Int64, nil
}

// deleteBelow deletes the segments with ids below cut and their rcpts
// rows, and returns how many events they held. rcpts ids grow with their
// segment ids, so the rows to delete are those below the first one that
// stays.
func deleteBelow(ctx context.Context, tx *sql.Tx, cut int64) (int64, error) {
	var events sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT sum(n) FROM segments WHERE id < ?`, cut).Scan(&events); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM segments WHERE id < ?`, cut); err != nil {
		return 0, err
	}
	var keep int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM rcpts WHERE segment >= ? ORDER BY id LIMIT 1`, cut).Scan(&keep)
	switch {
	case err == sql.ErrNoRows:
		_, err = tx.ExecContext(ctx, `DELETE FROM rcpts`)
	case err == nil:
		_, err = tx.ExecContext(ctx, `DELETE FROM rcpts WHERE id < ?`, keep)
	}
	return events.Int64, err
}

// Close writes what is buffered and releases the writer's connection. The
// database itself belongs to the caller.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ferr := s.Flush(ctx)
	if ferr == errClosed {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.closed = true
	s.stmts.close()
	if err := s.conn.Close(); err != nil {
		return err
	}
	return ferr
}
