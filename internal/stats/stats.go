// Package stats keeps per-minute mail counts per service and outcome, and
// per-minute gauge samples (queue depth, oldest queued message, upstream
// availability), in the embedded SQLite store for the built-in dashboard
// and the alerts.
//
// Flow: the mail log hands every event to Record (a maillog.Sink), which
// only adds one to an in-memory pending map keyed by (minute, service,
// outcome) under a mutex: no I/O on the mail path. Run flushes the pending
// map every FlushInterval in one transaction that adds the pending counts
// to the stored rows, then prunes: rows older than Retention go, and when
// the tables hold more than MaxRows rows the oldest whole minutes go until
// they fit. When Run's context ends it flushes once more and returns.
// A flush that fails puts its counts back into the pending map, so a count
// is stored exactly once. Sample writes one gauge sample straight to the
// store (the daemon calls it once a minute; the last sample of a minute
// wins). Queries read only what has been flushed, so they lag the mail by
// at most FlushInterval.
package stats

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/store"
)

// Outcome is what happened to a message, as counted.
type Outcome string

// The counted outcomes; other mail log events are ignored.
const (
	Accepted  Outcome = "accepted"
	Delivered Outcome = "delivered"
	Deferred  Outcome = "deferred"
	Bounced   Outcome = "bounced"
	Rejected  Outcome = "rejected"
)

// AllOutcomes lists the counted outcomes in display order.
func AllOutcomes() []Outcome {
	return []Outcome{Accepted, Delivered, Deferred, Bounced, Rejected}
}

// Options tune a Stats. Zero values take the defaults.
type Options struct {
	Retention     time.Duration    // rows older than this are dropped; default 30 days
	MaxRows       int              // bound on stored rows, oldest minutes dropped first; default 2,000,000
	FlushInterval time.Duration    // how often Run writes pending counts; default 5s
	Now           func() time.Time // default time.Now
	Logger        *slog.Logger     // default discards
}

// key identifies one pending counter.
type key struct {
	minute  int64 // Unix minutes
	service string
	outcome Outcome
}

// Stats counts mail events per minute, service and outcome.
type Stats struct {
	db   *sql.DB
	opts Options

	mu      sync.Mutex // guards pending
	pending map[key]int64

	// writeMu serialises writers (Flush, Sample, prune) so that rows, the
	// number of rows stored, stays exact.
	writeMu sync.Mutex
	rows    int64 // -1 until counted
}

// migrations are the stats schema steps; append only.
func migrations() []string {
	return []string{`CREATE TABLE stats_counts (
		minute  INTEGER NOT NULL,
		service TEXT    NOT NULL,
		outcome TEXT    NOT NULL,
		count   INTEGER NOT NULL,
		PRIMARY KEY (minute, service, outcome)
	) WITHOUT ROWID;
	CREATE TABLE stats_gauges (
		minute        INTEGER PRIMARY KEY,
		queue_depth   INTEGER NOT NULL,
		oldest_age_ms INTEGER NOT NULL
	);
	CREATE TABLE stats_upstreams (
		minute   INTEGER NOT NULL,
		upstream TEXT    NOT NULL,
		up       INTEGER NOT NULL,
		PRIMARY KEY (minute, upstream)
	) WITHOUT ROWID;`,
	}
}

// tables are the tables pruned by age and row bound, all keyed by minute.
func tables() []string { return []string{"stats_counts", "stats_gauges", "stats_upstreams"} }

// New applies the stats migrations to db and returns a Stats writing to it.
func New(db *sql.DB, opts Options) (*Stats, error) {
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 2_000_000
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := store.Migrate(context.Background(), db, "stats", migrations()); err != nil {
		return nil, err
	}
	return &Stats{db: db, opts: opts, pending: make(map[key]int64), rows: -1}, nil
}

// Record counts e if it is one of the counted outcomes. It never blocks on
// I/O. An event without a service counts for "unknown".
func (s *Stats) Record(e maillog.Event) {
	var o Outcome
	switch e.Kind {
	case maillog.Accepted:
		o = Accepted
	case maillog.Delivered:
		o = Delivered
	case maillog.Deferred:
		o = Deferred
	case maillog.Bounced:
		o = Bounced
	case maillog.Rejected:
		o = Rejected
	default:
		return
	}
	t := e.Time
	if t.IsZero() {
		t = s.opts.Now()
	}
	svc := e.Service
	if svc == "" {
		svc = "unknown"
	}
	k := key{minute: unixMinute(t), service: svc, outcome: o}
	s.mu.Lock()
	s.pending[k]++
	s.mu.Unlock()
}

// Run flushes pending counts every FlushInterval until ctx ends, then
// flushes once more (with a short deadline of its own) and returns.
// Failures are logged and retried at the next tick.
func (s *Stats) Run(ctx context.Context) {
	tick := time.NewTicker(s.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := s.Flush(fctx); err != nil {
				s.opts.Logger.LogAttrs(fctx, slog.LevelError, "stats: final flush failed", slog.String("error", err.Error()))
			}
			cancel()
			return
		case <-tick.C:
			if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
				s.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "stats: flush failed", slog.String("error", err.Error()))
			}
		}
	}
}

// Flush writes the pending counts in one transaction, then drops rows past
// the retention and the row bound. On failure the counts stay pending.
func (s *Stats) Flush(ctx context.Context) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.countRows(ctx); err != nil {
		return err
	}
	// Swap the pending map out under the lock; an empty one stays in place
	// (and is not touched again here, Record may be writing to it).
	var batch map[key]int64
	s.mu.Lock()
	if len(s.pending) > 0 {
		batch = s.pending
		s.pending = make(map[key]int64, len(batch))
	}
	s.mu.Unlock()
	if batch != nil {
		added, err := s.write(ctx, batch)
		if err != nil {
			s.mu.Lock()
			for k, n := range batch {
				s.pending[k] += n
			}
			s.mu.Unlock()
			return err
		}
		s.rows += added
	}
	return s.prune(ctx)
}

// write adds batch to the stored counts and returns the number of rows
// it created.
func (s *Stats) write(ctx context.Context, batch map[key]int64) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, &Error{Op: "flush", Err: err}
	}
	defer tx.Rollback()
	upd, err := tx.PrepareContext(ctx, `UPDATE stats_counts SET count = count + ? WHERE minute = ? AND service = ? AND outcome = ?`)
	if err != nil {
		return 0, &Error{Op: "flush", Err: err}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO stats_counts (minute, service, outcome, count) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return 0, &Error{Op: "flush", Err: err}
	}
	var added int64
	for k, n := range batch {
		res, err := upd.ExecContext(ctx, n, k.minute, k.service, string(k.outcome))
		if err != nil {
			return 0, &Error{Op: "flush", Err: err}
		}
		if c, err := res.RowsAffected(); err == nil && c > 0 {
			continue
		}
		if _, err := ins.ExecContext(ctx, k.minute, k.service, string(k.outcome), n); err != nil {
			return 0, &Error{Op: "flush", Err: err}
		}
		added++
	}
	if err := tx.Commit(); err != nil {
		return 0, &Error{Op: "flush", Err: err}
	}
	return added, nil
}

// Sample stores one gauge sample for the minute of at: the queue depth, the
// age of the oldest queued message and whether each upstream is up. A later
// sample in the same minute replaces it.
func (s *Stats) Sample(ctx context.Context, at time.Time, queueDepth int, oldestAge time.Duration, upstreams map[string]bool) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.countRows(ctx); err != nil {
		return err
	}
	m := unixMinute(at)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return &Error{Op: "sample", Err: err}
	}
	defer tx.Rollback()
	var added, removed int64
	res, err := tx.ExecContext(ctx, `DELETE FROM stats_upstreams WHERE minute = ?`, m)
	if err != nil {
		return &Error{Op: "sample", Err: err}
	}
	removed += affected(res)
	res, err = tx.ExecContext(ctx, `DELETE FROM stats_gauges WHERE minute = ?`, m)
	if err != nil {
		return &Error{Op: "sample", Err: err}
	}
	removed += affected(res)
	if _, err := tx.ExecContext(ctx, `INSERT INTO stats_gauges (minute, queue_depth, oldest_age_ms) VALUES (?, ?, ?)`,
		m, queueDepth, oldestAge.Milliseconds()); err != nil {
		return &Error{Op: "sample", Err: err}
	}
	added++
	for name, up := range upstreams {
		if _, err := tx.ExecContext(ctx, `INSERT INTO stats_upstreams (minute, upstream, up) VALUES (?, ?, ?)`,
			m, name, up); err != nil {
			return &Error{Op: "sample", Err: err}
		}
		added++
	}
	if err := tx.Commit(); err != nil {
		return &Error{Op: "sample", Err: err}
	}
	s.rows += added - removed
	return s.prune(ctx)
}

// Error is a failed store operation.
type Error struct {
	Op  string // flush, sample, prune, query
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("stats: %s: %v", e.Op, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// countRows counts the stored rows once; afterwards writers keep s.rows
// exact. Called with writeMu held.
func (s *Stats) countRows(ctx context.Context) error {
	if s.rows >= 0 {
		return nil
	}
	var total int64
	for _, t := range tables() {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			return &Error{Op: "count rows", Err: err}
		}
		total += n
	}
	s.rows = total
	return nil
}

func affected(res sql.Result) int64 {
	n, err := res.RowsAffected()
	if err != nil {
		return 0
	}
	return n
}

func unixMinute(t time.Time) int64 {
	sec := t.Unix()
	if sec < 0 {
		return (sec - 59) / 60
	}
	return sec / 60
}

func minuteTime(m int64) time.Time { return time.Unix(m*60, 0) }
