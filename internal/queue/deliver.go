package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/dsn"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/spool"
)

// attempt delivers the pending recipients of an item the caller owns.
func (q *Queue) attempt(ctx context.Context, it *item) {
	m, err := q.message(it)
	if err != nil {
		q.loadFailed(it, err)
		return
	}
	p := q.pol.Load() // this attempt runs under one configuration
	q.mu.Lock()
	deleting := it.wantDelete // a deletion whose removal failed earlier
	q.mu.Unlock()
	if deleting {
		now := q.opts.Now()
		q.finish(p, it, cloneState(m.State), now, q.age(it, now))
		return
	}
	var idx []int
	var rcpts []string
	for i, r := range m.State.Rcpts {
		if r.Status == spool.Pending {
			idx = append(idx, i)
			rcpts = append(rcpts, m.Env.Rcpts[i])
		}
	}
	st := cloneState(m.State)
	now := q.opts.Now()
	if len(idx) > 0 && m.Env.Personal != "" {
		q.attemptPersonal(ctx, p, m, idx, &st)
		now = q.opts.Now()
	} else if len(idx) > 0 {
		results, err := q.deliver(ctx, p, m, rcpts)
		now = q.opts.Now()
		if err != nil {
			// Our side could not read the message: nothing was attempted.
			q.mlog.Record(errEvent(&m.Env, "open body", err))
			for _, i := range idx {
				st.Rcpts[i].LastError = "local: " + err.Error()
			}
		}
		for k, res := range results {
			q.record(m, &st.Rcpts[idx[k]], m.Env.Rcpts[idx[k]], res, now)
		}
	}
	age := q.age(it, now)
	q.expire(p, m, &st, age)
	q.notify(ctx, p, m, &st, now, age)
	q.finish(p, it, st, now, age)
}

func (q *Queue) deliver(ctx context.Context, p *Policy, m *spool.Message, rcpts []string) ([]courier.Result, error) {
	body, err := q.store.OpenBody(m)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return p.Courier.Deliver(ctx, &courier.Message{
		ID: m.Env.ID, From: m.Env.From, Rcpts: rcpts,
		Size: m.BodyLen, Body: body, SMTPUTF8: m.Env.SMTPUTF8,
	}), nil
}

// record applies one recipient's result.
func (q *Queue) record(m *spool.Message, r *spool.Rcpt, addr string, res courier.Result, now time.Time) {
	r.Attempts++
	r.LastAttempt = now
	if res.Upstream != "" {
		r.Upstream = res.Upstream
	}
	r.Upstream = q.strs.get(r.Upstream)
	r.MaybeDelivered = r.MaybeDelivered || res.MaybeDelivered
	switch {
	case res.Err == nil:
		r.Status = spool.Delivered
		r.LastError = ""
		e := event(&m.Env, maillog.Delivered)
		e.Rcpt, e.Upstream, e.Delay, e.Attempts, e.Maybe = addr, res.Upstream, now.Sub(m.Env.Arrival), r.Attempts, r.MaybeDelivered
		q.mlog.Record(e)
	case smtperr.Permanent(res.Err):
		r.Status = spool.Failed
		r.LastError = q.strs.get(res.Err.Error())
		e := event(&m.Env, maillog.Bounced)
		e.Rcpt, e.Upstream, e.Reply, e.Attempts = addr, res.Upstream, r.LastError, r.Attempts
		q.mlog.Record(e)
	default:
		r.LastError = q.strs.get(res.Err.Error())
	}
}

// expire fails the pending recipients of a message past its lifetime
// (age as in clock.go).
func (q *Queue) expire(p *Policy, m *spool.Message, st *spool.State, age time.Duration) {
	if age < p.MaxLifetime {
		return
	}
	for i := range st.Rcpts {
		r := &st.Rcpts[i]
		if r.Status != spool.Pending {
			continue
		}
		r.Status = spool.Failed
		reason := fmt.Sprintf("message expired after %s in the queue", p.MaxLifetime)
		if r.LastError != "" {
			reason += "; last error: " + r.LastError
		}
		r.LastError = reason
		e := event(&m.Env, maillog.Bounced)
		e.Rcpt, e.Upstream, e.Reply, e.Attempts, e.Stage = m.Env.Rcpts[i], r.Upstream, reason, r.Attempts, "expired"
		q.mlog.Record(e)
	}
}

// notify spools a bounce for recipients that failed in this attempt and a
// delay notice once the message is old enough. If a notice cannot be
// spooled, its recipients go back to pending so that nothing is forgotten.
func (q *Queue) notify(ctx context.Context, p *Policy, m *spool.Message, st *spool.State, now time.Time, age time.Duration) {
	if m.Env.From == "" || m.Env.DSN {
		return
	}
	var failed []int
	for i := range st.Rcpts {
		if st.Rcpts[i].Status == spool.Failed && m.State.Rcpts[i].Status != spool.Failed {
			failed = append(failed, i)
		}
	}
	if len(failed) > 0 {
		for _, i := range q.sendBounces(p, m, st, failed, now) {
			st.Rcpts[i].Status = spool.Pending
		}
	}
	if p.DelayWarning <= 0 || st.Warned || age < p.DelayWarning || m.Env.Personal != "" {
		return
	}
	var pending []int
	for i := range st.Rcpts {
		if st.Rcpts[i].Status == spool.Pending {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 || ctx.Err() != nil {
		return
	}
	if err := q.sendNotice(p, m, st, pending, "delayed", m.Env.From, now); err != nil {
		q.mlog.Record(errEvent(&m.Env, "spool delay notice", err))
		return
	}
	st.Warned = true
}

// sendBounces spools the bounce for the recipients which: one to the
// envelope sender, or for a personalized message one per recipient to the
// sender its copy had (the list's VERP address for that member). It
// returns the recipients whose bounce could not be spooled.
func (q *Queue) sendBounces(p *Policy, m *spool.Message, st *spool.State, which []int, now time.Time) []int {
	if m.Env.Personal == "" {
		if err := q.sendNotice(p, m, st, which, "failed", m.Env.From, now); err != nil {
			q.mlog.Record(errEvent(&m.Env, "spool bounce", err))
			return which
		}
		return nil
	}
	var unsent []int
	for _, i := range which {
		to := m.Env.From
		if p.Personalizer != nil {
			if from, _, err := p.Personalizer.Personalize(&m.Env, m.Env.Rcpts[i]); err == nil && from != "" {
				to = from
			}
		}
		if err := q.sendNotice(p, m, st, []int{i}, "failed", to, now); err != nil {
			q.mlog.Record(errEvent(&m.Env, "spool bounce", err))
			unsent = append(unsent, i)
		}
	}
	return unsent
}

func (q *Queue) sendNotice(p *Policy, m *spool.Message, st *spool.State, which []int, action, to string, now time.Time) error {
	rep := dsn.Report{
		ReportingMTA: p.Hostname, QueueID: m.Env.ID, Sender: to, ArrivalDate: m.Env.Arrival,
	}
	for _, i := range which {
		r := st.Rcpts[i]
		dr := dsn.Recipient{
			Addr: m.Env.Rcpts[i], Action: action, Diagnostic: r.LastError,
			RemoteMTA: hostOf(r.Upstream), LastAttempt: r.LastAttempt,
		}
		dr.Status = statusOf(r.LastError, action)
		if action == "delayed" {
			dr.WillRetryUntil = m.Env.Arrival.Add(p.MaxLifetime)
		}
		rep.Recipients = append(rep.Recipients, dr)
	}
	body, err := q.store.OpenBody(m)
	if err != nil {
		return err
	}
	defer body.Close()
	rep.Original = body
	var data []byte
	if action == "failed" {
		data, err = dsn.Bounce(rep, now)
	} else {
		data, err = dsn.DelayNotice(rep, now)
	}
	if err != nil {
		return err
	}
	env := &spool.Envelope{From: "", Rcpts: []string{to}, Arrival: now, DSN: true,
		Client: "local", Service: "posthorn"}
	w, err := q.Create(env)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return err
	}
	nm, err := q.Commit(w)
	if err != nil {
		return err
	}
	kind := "bounce"
	if action == "delayed" {
		kind = "delay"
	}
	e := event(&m.Env, maillog.Notice)
	e.Action, e.NoticeID, e.Rcpt = kind, nm.Env.ID, to
	q.mlog.Record(e)
	return nil
}

// finish persists the new state and puts the item where it belongs.
func (q *Queue) finish(p *Policy, it *item, st spool.State, now time.Time, age time.Duration) {
	m := it.msg
	pending := false
	attempts := 0
	for _, r := range st.Rcpts {
		if r.Status == spool.Pending {
			pending = true
		}
		attempts = max(attempts, r.Attempts)
	}
	q.mu.Lock()
	del, hold, flush := it.wantDelete, it.wantHold, it.wantFlush
	it.wantDelete, it.wantHold, it.wantFlush = false, false, false
	q.mu.Unlock()

	if !pending || del {
		reason := "done"
		if del {
			reason = "deleted by operator"
		}
		if err := q.store.Remove(m.Env.ID); err != nil {
			// Still on disk (read-only or failing spool): keep the item and
			// try again at the next retry; with nothing pending, that attempt
			// only removes it. Forgetting it now would redeliver it after a
			// restart.
			q.mlog.Record(errEvent(&m.Env, "remove", err))
			st.NextAttempt = q.nextAttempt(p, 1, now, age)
			q.mu.Lock()
			m.State = st
			it.wantDelete = it.wantDelete || del
			q.pushRetry(it)
			q.mu.Unlock()
			return
		}
		e := event(&m.Env, maillog.Removed)
		e.Reply = reason
		q.mlog.Record(e)
		q.mu.Lock()
		delete(q.items, m.Env.ID)
		q.mu.Unlock()
		return
	}
	st.Age = age
	st.NextAttempt = q.nextAttempt(p, attempts, now, age)
	if flush {
		st.NextAttempt = now
	}
	if hold {
		st.Held = true
	}
	for i, r := range st.Rcpts {
		if r.Status == spool.Pending && r.LastAttempt.Equal(now) {
			e := event(&m.Env, maillog.Deferred)
			e.Rcpt, e.Upstream, e.Reply, e.Next, e.Attempts, e.Maybe = m.Env.Rcpts[i], r.Upstream, r.LastError, st.NextAttempt, r.Attempts, r.MaybeDelivered
			q.mlog.Record(e)
		}
	}
	q.mu.Lock()
	m.State = st
	q.mu.Unlock()
	saveErr := q.store.SaveState(m)
	if saveErr != nil {
		// The message stays queued with its previous state on disk; a
		// restart may repeat deliveries already made (at least once).
		q.mlog.Record(errEvent(&m.Env, "save state", saveErr))
	}
	q.mu.Lock()
	if st.Held {
		it.place = inHeld
	} else {
		q.pushRetry(it)
	}
	if saveErr == nil {
		q.coolLocked(it)
	}
	q.mu.Unlock()
}

// nextAttempt applies the retry schedule with jitter, never past the end of
// the message's lifetime (so that expiry happens on time).
func (q *Queue) nextAttempt(p *Policy, attempts int, now time.Time, age time.Duration) time.Time {
	s := p.RetrySchedule
	step := s[min(max(attempts-1, 0), len(s)-1)]
	next := now.Add(q.opts.Jitter(step))
	if end := now.Add(p.MaxLifetime - age); next.After(end) {
		next = end
	}
	if !next.After(now) {
		next = now.Add(time.Second)
	}
	return next
}

func cloneState(s spool.State) spool.State {
	c := s
	c.Rcpts = append([]spool.Rcpt(nil), s.Rcpts...)
	return c
}

func hostOf(hostport string) string {
	for i := len(hostport) - 1; i >= 0; i-- {
		if hostport[i] == ':' {
			return hostport[:i]
		}
	}
	return hostport
}

// statusOf finds the enhanced status code in an error text such as
// "550 5.1.1 no such user"; a failure after temporary errors (expiry) is
// 5.4.7, delivery time expired.
func statusOf(text, action string) string {
	var code, a, b, c int
	if n, _ := fmt.Sscanf(text, "%d %d.%d.%d", &code, &a, &b, &c); n == 4 && (a == 2 || a == 4 || a == 5) {
		if action == "failed" && a == 4 {
			return "5.4.7" // expired after temporary failures
		}
		return fmt.Sprintf("%d.%d.%d", a, b, c)
	}
	if action == "failed" {
		if code >= 500 {
			return "5.0.0"
		}
		return "5.4.7"
	}
	return "4.0.0"
}

var errNotFound = errors.New("no such message in the queue")
