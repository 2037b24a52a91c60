package queue

import (
	"slices"
	"time"

	"github.com/posthorn/posthorn/internal/spool"
)

// Clock steps. The wall clock (Options.Now) dates events and is what the
// spool records; the monotonic clock (Options.Mono) measures how long the
// queue has really held a message. A message's age, for expiry and the
// delay notice, is the smaller of the two:
//
//	age = min(now − arrival, carried + mono − mono at add)
//
// carried is the age the message had when this process took it over: 0
// for new mail, for recovered mail the age saved in its last state record
// plus the wall time since that record (or its wall-clock age when it has
// none). So a wall clock stepped forward while the daemon runs never makes
// a message expire early; one stepped back only makes it live longer. A
// step while the daemon is stopped cannot be told from downtime and counts.
//
// A retry is due at its wall-clock time, or after its delay has passed on
// the monotonic clock, whichever comes first, so that a clock stepped back
// does not postpone retries by the size of the step.

// defaultMono returns a monotonic clock starting now.
func defaultMono() func() time.Duration {
	start := time.Now()
	return func() time.Duration { return time.Since(start) }
}

// carried is the age of m when the queue takes it over at wall time now.
func carried(m *spool.Message, now time.Time) time.Duration {
	var saved time.Time
	for _, r := range m.State.Rcpts {
		if r.LastAttempt.After(saved) {
			saved = r.LastAttempt
		}
	}
	if m.State.Age > 0 && !saved.IsZero() {
		return m.State.Age + max(now.Sub(saved), 0)
	}
	return max(now.Sub(m.Env.Arrival), 0)
}

// age is how long it has been queued, by the rule above. q.mu need not be
// held: base and addMono never change after add.
func (q *Queue) age(it *item, now time.Time) time.Duration {
	wall := max(now.Sub(it.arrival.time()), 0)
	return min(wall, it.base+q.opts.Mono()-it.addMono)
}

// maxWait bounds the monotonic delay of a retry: twice the longest step of
// the schedule, so that a recovered NextAttempt far in the future (the
// clock went back while the daemon was down) cannot stall a message.
func (q *Queue) maxWait() time.Duration {
	return 2*slices.Max(q.pol.Load().RetrySchedule) + time.Second
}

// setDue sets the monotonic due time of a retry from its wall-clock
// next attempt. q.mu held.
func (q *Queue) setDue(it *item, now time.Time) {
	wait := min(max(it.next.time().Sub(now), 0), q.maxWait())
	it.dueMono = q.opts.Mono() + wait
}

// due reports whether a retry is due at wall time now and monotonic time
// mono, and how long until it is otherwise.
func due(it *item, now time.Time, mono time.Duration) (bool, time.Duration) {
	wallWait := it.next.time().Sub(now)
	monoWait := it.dueMono - mono
	wait := min(wallWait, monoWait)
	return wait <= 0, wait
}
