package queue

import (
	"container/heap"
	"container/list"
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/spool"
)

// Deliverer attempts delivery of a message; *courier.Courier is one.
type Deliverer interface {
	Deliver(ctx context.Context, m *courier.Message) []courier.Result
}

// Policy is the part of the configuration a reload may change. Each
// delivery attempt reads it once when it starts and runs under it to the
// end, so that a reload never changes an attempt half-way.
type Policy struct {
	Courier       Deliverer
	Hostname      string          // Reporting-MTA of notices
	RetrySchedule []time.Duration // the last step repeats
	MaxLifetime   time.Duration
	DelayWarning  time.Duration // 0 disables
	// Personalizer makes the per-recipient copies of messages whose
	// envelope has Personal set (see personal.go); without one they are
	// deferred.
	Personalizer Personalizer
}

// Options configures a Queue. Courier, Hostname, RetrySchedule,
// MaxLifetime and DelayWarning are the initial Policy.
type Options struct {
	Store         *spool.Store
	Courier       Deliverer
	Hostname      string          // Reporting-MTA of notices
	RetrySchedule []time.Duration // the last step repeats
	MaxLifetime   time.Duration
	DelayWarning  time.Duration // 0 disables
	Personalizer  Personalizer
	Concurrency   int // delivery workers
	Now           func() time.Time
	// Mono is a monotonic clock (any origin) that measures how long
	// messages have been queued; default the process's monotonic clock.
	// See clock.go for how it guards expiry against wall-clock steps.
	Mono func() time.Duration
	// Jitter spreads a retry delay; default ±10% at random.
	Jitter  func(time.Duration) time.Duration
	MailLog *maillog.Log
	Logger  *slog.Logger
}

type place uint8

const (
	inNone place = iota
	inFresh
	inRetry
	inFlight
	inHeld
)

// item is one queued message. Its fields are ordered for size: a large
// backlog is mostly items (see cold.go).
type item struct {
	id  string
	msg *spool.Message // nil while cold (see cold.go)
	// arrival and next are the envelope's arrival and the state's next
	// attempt, kept while the item is cold.
	arrival, next wallTime
	elem          *list.Element // in fresh
	index         int           // in retry heap
	// base is the message's age when it was added, at Mono() == addMono
	// (see clock.go); dueMono is when its retry is due by Mono.
	base, addMono, dueMono time.Duration
	place                  place
	// Operator requests that arrive while the item is in flight, applied
	// when the attempt ends.
	wantHold, wantDelete, wantFlush bool
}

// Queue is the set of spooled messages and the workers delivering them.
type Queue struct {
	opts  Options
	store *spool.Store
	mlog  *maillog.Log
	log   *slog.Logger

	mu     sync.Mutex
	items  map[string]*item
	fresh  *list.List
	retry  retryHeap
	toggle bool // alternates fresh and retry when both are ready
	wake   chan struct{}

	strs interner
	pol  atomic.Pointer[Policy]
}

// New returns a Queue; call Recover, then Run.
func New(opts Options) *Queue {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Mono == nil {
		opts.Mono = defaultMono()
	}
	if opts.Jitter == nil {
		opts.Jitter = func(d time.Duration) time.Duration {
			return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
		}
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 20
	}
	if opts.MailLog == nil {
		opts.MailLog = maillog.New(nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	q := &Queue{
		opts: opts, store: opts.Store, mlog: opts.MailLog, log: opts.Logger,
		items: make(map[string]*item), fresh: list.New(), wake: make(chan struct{}, 1),
	}
	q.SetPolicy(Policy{Courier: opts.Courier, Hostname: opts.Hostname, RetrySchedule: opts.RetrySchedule,
		MaxLifetime: opts.MaxLifetime, DelayWarning: opts.DelayWarning, Personalizer: opts.Personalizer})
	return q
}

// SetPolicy makes p the policy of attempts that start from now on;
// attempts in flight finish under the policy they started with. Messages
// already scheduled keep their next attempt time.
func (q *Queue) SetPolicy(p Policy) {
	if len(p.RetrySchedule) == 0 {
		p.RetrySchedule = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	}
	if p.MaxLifetime <= 0 {
		p.MaxLifetime = 5 * 24 * time.Hour
	}
	q.pol.Store(&p)
}

// Recover indexes every message in the spool (removing partial files and
// quarantining corrupt ones) and schedules it. It returns how many messages
// were recovered and how many files were corrupt.
func (q *Queue) Recover() (recovered, corrupt int, err error) {
	err = q.store.Scan(true, func(r spool.ScanResult) {
		if r.Err != nil {
			corrupt++
			return
		}
		recovered++
		q.add(r.Msg)
	})
	return recovered, corrupt, err
}

// Create starts a new message in the spool.
func (q *Queue) Create(env *spool.Envelope) (*spool.Writer, error) {
	return q.store.Create(env)
}

// Commit makes a message written with Create durable and schedules it. Only
// after it returns nil may the message be acknowledged.
func (q *Queue) Commit(w *spool.Writer) (*spool.Message, error) {
	m, err := w.Commit()
	if err != nil {
		return nil, err
	}
	q.add(m)
	return m, nil
}

// Add schedules a message that is already durable in the queue's spool
// (recovered, or adopted from the sendmail drop directory).
func (q *Queue) Add(m *spool.Message) { q.add(m) }

func (q *Queue) add(m *spool.Message) {
	q.intern(m)
	now := q.opts.Now()
	it := &item{id: m.Env.ID, msg: m, arrival: wallOf(m.Env.Arrival), base: carried(m, now), addMono: q.opts.Mono()}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.items[m.Env.ID]; dup {
		return
	}
	q.items[m.Env.ID] = it
	switch {
	case m.State.Held:
		it.place = inHeld
	case m.State.NextAttempt.IsZero():
		q.pushFresh(it)
	default:
		q.pushRetry(it)
	}
	q.coolLocked(it) // as it is on disk
}

// WriteHealth is the outcome of the spool's recent writes (commits, state
// records, removals, probes), for the spool_write alert.
func (q *Queue) WriteHealth() spool.WriteHealth { return q.store.WriteHealth() }

// ProbeSpool writes and removes a small file in the spool, so that a full
// or read-only spool (and its recovery) shows in WriteHealth without mail.
func (q *Queue) ProbeSpool() error { return q.store.Probe() }

// Len is the number of messages in the queue.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Stats returns the number of queued messages and the arrival time of the
// oldest (zero when the queue is empty).
func (q *Queue) Stats() (n int, oldest time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.items {
		if a := it.arrival.time(); oldest.IsZero() || a.Before(oldest) {
			oldest = a
		}
	}
	return len(q.items), oldest
}

// Run starts the delivery workers. When stop is done no new attempt starts;
// attempts in flight go on until they end or abort is done (then the courier
// gives up on them and their recipients stay pending). Run returns when every
// worker has recorded the outcome of its last attempt.
func (q *Queue) Run(stop, abort context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < q.opts.Concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				it := q.next(stop)
				if it == nil {
					return
				}
				q.attempt(abort, it)
			}
		}()
	}
	wg.Wait()
}

// --- scheduling; q.mu held by the callers of these ---

func (q *Queue) pushFresh(it *item) {
	it.place = inFresh
	it.elem = q.fresh.PushBack(it)
	q.signal()
}

func (q *Queue) pushRetry(it *item) {
	if it.msg != nil {
		it.next = wallOf(it.msg.State.NextAttempt)
	}
	q.setDue(it, q.opts.Now())
	it.place = inRetry
	heap.Push(&q.retry, it)
	q.signal()
}

// unlink takes it out of fresh or retry.
func (q *Queue) unlink(it *item) {
	switch it.place {
	case inFresh:
		q.fresh.Remove(it.elem)
		it.elem = nil
	case inRetry:
		heap.Remove(&q.retry, it.index)
	}
	it.place = inNone
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pick returns the next item to attempt, or nil and when the next retry is
// due in wall time (zero if none).
func (q *Queue) pick(now time.Time) (*item, time.Time) {
	mono := q.opts.Mono()
	retryDue := false
	var wait time.Duration
	if len(q.retry) > 0 {
		retryDue, wait = due(q.retry[0], now, mono)
	}
	freshReady := q.fresh.Len() > 0
	var it *item
	switch {
	case freshReady && retryDue:
		q.toggle = !q.toggle
		if q.toggle {
			it = q.fresh.Front().Value.(*item)
		} else {
			it = q.retry[0]
		}
	case freshReady:
		it = q.fresh.Front().Value.(*item)
	case retryDue:
		it = q.retry[0]
	}
	if it == nil {
		if len(q.retry) > 0 {
			return nil, now.Add(wait)
		}
		return nil, time.Time{}
	}
	q.unlink(it)
	it.place = inFlight
	return it, time.Time{}
}

// next blocks until an item is due or ctx is done (nil).
func (q *Queue) next(ctx context.Context) *item {
	for {
		if ctx.Err() != nil {
			return nil
		}
		q.mu.Lock()
		now := q.opts.Now()
		it, dueAt := q.pick(now)
		more := q.fresh.Len() > 0
		if len(q.retry) > 0 {
			d, _ := due(q.retry[0], now, q.opts.Mono())
			more = more || d
		}
		q.mu.Unlock()
		if it != nil {
			if more {
				q.signal() // let another worker take the rest
			}
			return it
		}
		var timer *time.Timer
		var tc <-chan time.Time
		if !dueAt.IsZero() {
			timer = time.NewTimer(max(dueAt.Sub(now), time.Millisecond))
			tc = timer.C
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-tc:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// retryHeap orders items by next attempt on the monotonic clock.
type retryHeap []*item

func (h retryHeap) Len() int { return len(h) }
func (h retryHeap) Less(i, j int) bool {
	return h[i].dueMono < h[j].dueMono
}
func (h retryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *retryHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *retryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.index = -1
	return it
}
