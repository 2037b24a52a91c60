package queue

import (
	"errors"
	"io/fs"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/spool"
)

// A message waiting for a retry or held is kept cold: its item keeps only
// what scheduling needs (id, arrival, next attempt, place) and the message
// itself (envelope and per-recipient state) is read back from the spool
// when it is next attempted or an operator asks about it. The spool holds
// the same state, since an item is cooled only right after that state was
// saved (or read at recovery). This keeps a large deferred backlog small in
// memory: about 150 bytes per message instead of 700 (docs/benchmarks.md).

// retryLoadDelay is when a message whose file could not be read is tried
// again.
const retryLoadDelay = time.Minute

// intern replaces strings that thousands of messages share (client, HELO,
// service, sender, the last error of an upstream that is down) with one
// copy.
func (q *Queue) intern(m *spool.Message) {
	e := &m.Env
	e.From, e.Client, e.Helo, e.Service = q.strs.get(e.From), q.strs.get(e.Client), q.strs.get(e.Helo), q.strs.get(e.Service)
	for i := range m.State.Rcpts {
		r := &m.State.Rcpts[i]
		r.LastError, r.Upstream = q.strs.get(r.LastError), q.strs.get(r.Upstream)
	}
}

// load reads the message of a cold item from the spool.
func (q *Queue) load(id string) (*spool.Message, error) {
	m, err := q.store.Load(id)
	if err != nil {
		return nil, err
	}
	q.intern(m)
	return m, nil
}

// coolLocked drops the message of an item whose state on disk is current.
// q.mu held.
func (q *Queue) coolLocked(it *item) {
	if q.store != nil && (it.place == inRetry || it.place == inHeld) {
		it.msg = nil
	}
}

// warmLocked reads the message of a cold item back, for operator requests.
// q.mu held (a short read of one message).
func (q *Queue) warmLocked(it *item) error {
	if it.msg != nil {
		return nil
	}
	m, err := q.load(it.id)
	if err != nil {
		return err
	}
	it.msg = m
	return nil
}

// envLocked is the envelope of it for the mail log, read back if the item
// is cold; only the id when the spool cannot be read. q.mu held.
func (q *Queue) envLocked(it *item) *spool.Envelope {
	if q.warmLocked(it) != nil {
		return &spool.Envelope{ID: it.id}
	}
	return &it.msg.Env
}

// message returns the message of an item the caller owns (in flight),
// reading it back if it is cold.
func (q *Queue) message(it *item) (*spool.Message, error) {
	q.mu.Lock()
	m := it.msg
	q.mu.Unlock()
	if m != nil {
		return m, nil
	}
	m, err := q.load(it.id)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	if it.msg == nil {
		it.msg = m
	}
	m = it.msg
	q.mu.Unlock()
	return m, nil
}

// loadFailed handles an in-flight item whose message could not be read: a
// message whose file is gone leaves the queue; any other failure is logged
// and tried again later.
func (q *Queue) loadFailed(it *item, err error) {
	e := maillog.Event{Kind: maillog.Error, QueueID: it.id, Stage: "load", Reply: err.Error()}
	q.mlog.Record(e)
	q.mu.Lock()
	defer q.mu.Unlock()
	if errors.Is(err, fs.ErrNotExist) {
		delete(q.items, it.id)
		it.place = inNone
		return
	}
	it.next = wallOf(q.opts.Now().Add(retryLoadDelay))
	q.pushRetry(it)
}

// summaries describes the given items, reading cold ones back outside q.mu.
func (q *Queue) summaries(its []*item) []Summary {
	type cold struct {
		id    string
		place place
		next  wallTime
	}
	out := make([]Summary, 0, len(its))
	var colds []cold
	q.mu.Lock()
	for _, it := range its {
		if it.msg == nil {
			colds = append(colds, cold{it.id, it.place, it.next})
			continue
		}
		s := Summarize(it.msg)
		s.InFlight = it.place == inFlight
		if it.place == inFresh {
			s.NextAttempt = time.Time{}
		}
		out = append(out, s)
	}
	q.mu.Unlock()
	for _, c := range colds {
		m, err := q.store.Load(c.id)
		if err != nil {
			continue // delivered or deleted meanwhile
		}
		s := Summarize(m)
		if c.place == inRetry {
			s.NextAttempt = c.next.time()
		}
		out = append(out, s)
	}
	return out
}

// wallTime is a wall-clock time in Unix nanoseconds, 0 for the zero time:
// 8 bytes per item instead of time.Time's 24.
type wallTime int64

func wallOf(t time.Time) wallTime {
	if t.IsZero() {
		return 0
	}
	return wallTime(t.UnixNano())
}

func (w wallTime) time() time.Time {
	if w == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(w))
}
