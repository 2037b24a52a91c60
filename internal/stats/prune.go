package stats

import (
	"context"
	"database/sql"
	"sort"
)

// pruneChunk is how many minutes prune inspects per step while looking for
// the oldest minutes to drop.
const pruneChunk = 60

// prune drops rows older than the retention, then the oldest whole minutes
// while more than MaxRows rows are stored. Called with writeMu held and
// s.rows counted.
func (s *Stats) prune(ctx context.Context) error {
	cut := unixMinute(s.opts.Now().Add(-s.opts.Retention))
	if err := s.deleteBefore(ctx, cut); err != nil {
		return err
	}
	excess := s.rows - int64(s.opts.MaxRows)
	if excess <= 0 {
		return nil
	}
	cut, err := s.rowBoundCut(ctx, excess)
	if err != nil {
		return err
	}
	return s.deleteBefore(ctx, cut)
}

// deleteBefore drops every row of a minute before cut, in one transaction.
func (s *Stats) deleteBefore(ctx context.Context, cut int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return &Error{Op: "prune", Err: err}
	}
	defer tx.Rollback()
	var removed int64
	for _, t := range tables() {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE minute < ?`, cut)
		if err != nil {
			return &Error{Op: "prune", Err: err}
		}
		removed += affected(res)
	}
	if err := tx.Commit(); err != nil {
		return &Error{Op: "prune", Err: err}
	}
	s.rows -= removed
	return nil
}

// rowBoundCut returns the first minute to keep so that dropping every
// earlier minute removes at least excess rows. It reads the oldest minutes
// pruneChunk at a time, skipping gaps, so its cost follows the rows it
// drops rather than the table size.
func (s *Stats) rowBoundCut(ctx context.Context, excess int64) (int64, error) {
	start, ok, err := s.firstMinuteFrom(ctx, minInt64)
	if err != nil || !ok {
		return minInt64, err
	}
	var dropped int64
	// Every step consumes at least one stored minute, so the loop ends.
	for {
		end := start + pruneChunk
		perMinute := map[int64]int64{}
		for _, t := range tables() {
			if err := s.countPerMinute(ctx, t, start, end, perMinute); err != nil {
				return 0, err
			}
		}
		minutes := make([]int64, 0, len(perMinute))
		for m := range perMinute {
			minutes = append(minutes, m)
		}
		sort.Slice(minutes, func(i, j int) bool { return minutes[i] < minutes[j] })
		for _, m := range minutes {
			dropped += perMinute[m]
			if dropped >= excess {
				return m + 1, nil
			}
		}
		next, ok, err := s.firstMinuteFrom(ctx, end)
		if err != nil {
			return 0, err
		}
		if !ok {
			return end, nil
		}
		start = next
	}
}

// countPerMinute adds the number of rows of table t per minute in
// [from, to) to into.
func (s *Stats) countPerMinute(ctx context.Context, t string, from, to int64, into map[int64]int64) error {
	rows, err := s.db.QueryContext(ctx, `SELECT minute, count(*) FROM `+t+` WHERE minute >= ? AND minute < ? GROUP BY minute`, from, to)
	if err != nil {
		return &Error{Op: "prune", Err: err}
	}
	defer rows.Close()
	for rows.Next() {
		var m, n int64
		if err := rows.Scan(&m, &n); err != nil {
			return &Error{Op: "prune", Err: err}
		}
		into[m] += n
	}
	if err := rows.Err(); err != nil {
		return &Error{Op: "prune", Err: err}
	}
	return nil
}

// firstMinuteFrom returns the earliest stored minute at or after from in
// any table; ok is false when there is none.
func (s *Stats) firstMinuteFrom(ctx context.Context, from int64) (int64, bool, error) {
	var best int64
	found := false
	for _, t := range tables() {
		var m sql.NullInt64
		if err := s.db.QueryRowContext(ctx, `SELECT min(minute) FROM `+t+` WHERE minute >= ?`, from).Scan(&m); err != nil {
			return 0, false, &Error{Op: "prune", Err: err}
		}
		if m.Valid && (!found || m.Int64 < best) {
			best, found = m.Int64, true
		}
	}
	return best, found, nil
}

const minInt64 = -1 << 63
