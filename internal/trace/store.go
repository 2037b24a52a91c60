// Package trace keeps every mail log event in SQLite (data_dir/trace.db) so
// that a message's whole history can be found again by queue id, Message-ID
// or address: posthorn trace and the web trace page read it.
//
// Flow: the mail log calls Record on the mail path. Record only appends the
// event to a bounded in-memory buffer and wakes the writer; when the buffer
// is full the event is dropped and counted (Dropped), so mail never waits for
// the disk. Run is the writer: it takes the whole buffer at once and inserts
// it in one transaction with a prepared statement (at most one write a
// second, so that a commit carries many events), prunes every minute, and
// writes what is left when its context ends. Flush writes the buffer now
// (tests, shutdown).
//
// Pruning: event ids grow with time, so old events are always the lowest
// ids. Retention and MaxEvents are enforced by deleting id ranges from the
// low end in chunks, which never scans the table and never holds the write
// lock for long.
//
// Lookups (Reader.Lookup) go through small partial indexes: queue id on every
// event, Message-ID and sender on the events that start a message
// (accepted, decision, held, rejected), recipient on per-recipient events,
// list and notice id where set. A hit is widened to the whole message: all
// its events, plus the events of the bounce and delay notices it generated
// (linked by the notice event's NoticeID), in time order.
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
	pruneChunk = 20_000      // events deleted per transaction
	pruneSteps = 50          // chunks per periodic prune; the rest waits for the next tick
)

// Options tune a Store. Zero values take the defaults.
type Options struct {
	Retention time.Duration    // events older than this are deleted; default 14 days
	MaxEvents int              // at most this many events are kept, oldest deleted first; default 20,000,000
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
	insert  *sql.Stmt // one event
	insertN *sql.Stmt // insertRows events
	args    []any
	closed  bool
	chunk   int64 // events deleted per prune transaction
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
	ins, err := conn.PrepareContext(ctx, insertSQL(1))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("trace: prepare insert: %w", err)
	}
	insN, err := conn.PrepareContext(ctx, insertSQL(insertRows))
	if err != nil {
		ins.Close()
		conn.Close()
		return nil, fmt.Errorf("trace: prepare insert: %w", err)
	}
	return &Store{
		Reader:  &Reader{db: db},
		opts:    opts,
		db:      db,
		wake:    make(chan struct{}, 1),
		conn:    conn,
		insert:  ins,
		insertN: insN,
		chunk:   pruneChunk,
	}, nil
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
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
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

// write inserts batch in one transaction. Callers hold writeMu.
func (s *Store) write(ctx context.Context, batch []maillog.Event) error {
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("trace: begin: %w", err)
	}
	defer tx.Rollback()
	one, many := tx.StmtContext(ctx, s.insert), tx.StmtContext(ctx, s.insertN)
	for len(batch) > 0 {
		st, n := one, 1
		if len(batch) >= insertRows {
			st, n = many, insertRows
		}
		s.args = s.args[:0]
		for i := range n {
			s.args = insertArgs(s.args, &batch[i])
		}
		if _, err := st.ExecContext(ctx, s.args...); err != nil {
			return fmt.Errorf("trace: insert: %w", err)
		}
		batch = batch[n:]
	}
	clear(s.args)
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("trace: commit: %w", err)
	}
	return nil
}

// Prune deletes every event beyond retention or MaxEvents now.
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

// pruneChunk deletes at most s.chunk of the oldest events if they are
// past retention or beyond MaxEvents; more says whether another chunk may be
// due. Callers hold writeMu.
func (s *Store) pruneChunk(ctx context.Context, cutoff int64) (n int64, more bool, err error) {
	var lo, hi sql.NullInt64
	if err := s.conn.QueryRowContext(ctx, `SELECT min(id), max(id) FROM events`).Scan(&lo, &hi); err != nil {
		return 0, false, err
	}
	if !lo.Valid {
		return 0, false, nil
	}
	end := lo.Int64 + s.chunk
	// Ids below countEnd exceed MaxEvents.
	countEnd := min(hi.Int64-int64(s.opts.MaxEvents)+1, end)
	// The first event inside retention within this chunk, if any.
	young := end
	var id int64
	err = s.conn.QueryRowContext(ctx, `SELECT id FROM events WHERE id >= ? AND id < ? AND time >= ? ORDER BY id LIMIT 1`,
		lo.Int64, end, cutoff).Scan(&id)
	switch {
	case err == nil:
		young = id
	case err != sql.ErrNoRows:
		return 0, false, err
	}
	cut := max(young, countEnd)
	if cut <= lo.Int64 {
		return 0, false, nil
	}
	res, err := s.conn.ExecContext(ctx, `DELETE FROM events WHERE id < ?`, cut)
	if err != nil {
		return 0, false, err
	}
	n, _ = res.RowsAffected()
	return n, cut == end && cut <= hi.Int64, nil
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
	s.insert.Close()
	s.insertN.Close()
	if err := s.conn.Close(); err != nil {
		return err
	}
	return ferr
}
