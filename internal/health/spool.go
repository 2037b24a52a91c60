package health

import (
	"fmt"
	"time"

	"github.com/posthorn/posthorn/internal/spool"
)

// CheckSpoolWrite names the spool write check.
const CheckSpoolWrite = "spool_write"

// SpoolWrite evaluates the spool_write check from the spool's write record
// (queue.WriteHealth, after queue.ProbeSpool so that recovery shows without
// mail):
//
//   - CRITICAL while the most recent spool write failed (disk full,
//     read-only, I/O error): clients get 4xx, nothing new is accepted and
//     delivered messages cannot be removed;
//   - WARNING when a write failed within the last `recent` but writes
//     succeed again, so a short episode is still seen;
//   - OK otherwise.
//
// The perf value counts failed writes since start.
func SpoolWrite(h spool.WriteHealth, recent time.Duration, now time.Time) Result {
	r := Result{Name: CheckSpoolWrite, Perf: []Perf{
		{Label: "spool_write_failures", Value: float64(h.Failures), UOM: "c", Min: num(0)},
	}}
	switch {
	case h.Failing():
		r.State = Critical
		r.Message = fmt.Sprintf("spool writes failing since %s (%d failures): %s; clients get 4xx until it is fixed",
			h.LastErrorAt.UTC().Format(time.RFC3339), h.Failures, h.LastError)
	case !h.LastErrorAt.IsZero() && now.Sub(h.LastErrorAt) < recent:
		r.State = Warning
		r.Message = fmt.Sprintf("spool write failed %s ago (%s), writes succeed again", human(max(now.Sub(h.LastErrorAt), 0)), h.LastError)
	case h.Failures > 0:
		r.Message = fmt.Sprintf("spool writes succeed; last failure %s", h.LastErrorAt.UTC().Format(time.RFC3339))
	default:
		r.Message = "spool writes succeed"
	}
	return r
}
