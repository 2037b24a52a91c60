package queue

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/spool"
)

// Personalized messages
//
// A list post goes into the spool once for many members, with
// Envelope.Personal set, instead of one file per member. At delivery each
// pending recipient gets its own transaction: the Personalizer gives the
// envelope sender (the member's VERP bounce address) and the header fields
// of that member's copy (the one-click unsubscribe link), which go in front
// of the stored message. So the per-member work happens at the rate of
// delivery, and the post is durable after one fsync.
//
// Recipients are delivered one after the other; every checkpointEvery of
// them, the ones delivered so far are saved in the spool, so a crash in a
// long attempt repeats at most that many deliveries. Failed recipients are
// saved only after their bounce is spooled (notify), as for any message.
// A failed recipient's bounce goes to the sender its copy had, so that
// list bounce processing knows the member. No delay notices are sent for
// personalized messages (list bounce processing has no use for them).

// Personalizer makes one recipient's copy of a personalized message.
type Personalizer interface {
	// Personalize returns the envelope sender for rcpt's copy and the
	// header fields (each CRLF-terminated; none is fine) to put in front
	// of the message.
	Personalize(env *spool.Envelope, rcpt string) (from string, head []byte, err error)
}

// checkpointEvery is how many recipients of a personalized message are
// delivered between two saves of its state.
const checkpointEvery = 256

// PersonalizeError is a failure to make a recipient's copy; it is
// temporary, so the recipient is retried.
type PersonalizeError struct {
	Rcpt string
	Err  error
}

func (e *PersonalizeError) Error() string {
	return fmt.Sprintf("local: personalize copy for %s: %v", e.Rcpt, e.Err)
}

func (e *PersonalizeError) Unwrap() error { return e.Err }

// attemptPersonal delivers the pending recipients idx of a personalized
// message one transaction each and records the results in st.
func (q *Queue) attemptPersonal(ctx context.Context, p *Policy, m *spool.Message, idx []int, st *spool.State) {
	body, err := q.store.OpenBody(m)
	if err != nil {
		q.mlog.Record(errEvent(&m.Env, "open body", err))
		for _, i := range idx {
			st.Rcpts[i].LastError = "local: " + err.Error()
		}
		return
	}
	defer body.Close()
	results := make([]courier.Result, len(idx))
	for k, i := range idx {
		if err := ctx.Err(); err != nil {
			for j := k; j < len(idx); j++ {
				results[j] = courier.Result{Rcpt: m.Env.Rcpts[idx[j]],
					Err: &courier.ConnError{Stage: "not attempted", Err: err}}
			}
			break
		}
		results[k] = q.deliverCopy(ctx, p, m, body, m.Env.Rcpts[i])
		if (k+1)%checkpointEvery == 0 && k+1 < len(idx) {
			q.checkpoint(m, idx[:k+1], results[:k+1], q.opts.Now())
		}
	}
	now := q.opts.Now()
	for k, i := range idx {
		q.record(m, &st.Rcpts[i], m.Env.Rcpts[i], results[k], now)
	}
}

// deliverCopy delivers rcpt's copy of m.
func (q *Queue) deliverCopy(ctx context.Context, p *Policy, m *spool.Message, body io.ReaderAt, rcpt string) courier.Result {
	if p.Personalizer == nil {
		return courier.Result{Rcpt: rcpt, Err: &PersonalizeError{Rcpt: rcpt, Err: fmt.Errorf("no personalizer for %q", m.Env.Personal)}}
	}
	from, head, err := p.Personalizer.Personalize(&m.Env, rcpt)
	if err != nil {
		return courier.Result{Rcpt: rcpt, Err: &PersonalizeError{Rcpt: rcpt, Err: err}}
	}
	res := p.Courier.Deliver(ctx, &courier.Message{
		ID: m.Env.ID, From: from, Rcpts: []string{rcpt},
		Size: int64(len(head)) + m.BodyLen, Body: courier.WithHead(head, body), SMTPUTF8: m.Env.SMTPUTF8,
	})
	if len(res) != 1 {
		return courier.Result{Rcpt: rcpt, Err: &courier.ConnError{Stage: "not attempted", Err: fmt.Errorf("deliverer returned %d results for 1 recipient", len(res))}}
	}
	return res[0]
}

// checkpoint saves, in the middle of an attempt, that the recipients idx
// with a nil error were delivered. Nothing else of the attempt is saved
// yet: failures wait for their bounce (see notify).
func (q *Queue) checkpoint(m *spool.Message, idx []int, results []courier.Result, now time.Time) {
	q.mu.Lock()
	cp := cloneState(m.State)
	q.mu.Unlock()
	for k, i := range idx {
		r := &cp.Rcpts[i]
		if results[k].Err != nil || r.Status != spool.Pending {
			continue
		}
		r.Status, r.LastError, r.LastAttempt = spool.Delivered, "", now
		r.Upstream = q.strs.get(results[k].Upstream)
		r.Attempts++
	}
	q.mu.Lock()
	m.State = cp
	q.mu.Unlock()
	if err := q.store.SaveState(m); err != nil {
		q.mlog.Record(errEvent(&m.Env, "save state", err))
	}
}
