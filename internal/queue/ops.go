package queue

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/spool"
)

// RcptInfo is one recipient in a listing.
type RcptInfo struct {
	Addr           string    `json:"addr"`
	State          string    `json:"state"`
	Attempts       int       `json:"attempts"`
	LastError      string    `json:"last_error,omitempty"`
	LastAttempt    time.Time `json:"last_attempt,omitzero"`
	Upstream       string    `json:"upstream,omitempty"`
	MaybeDelivered bool      `json:"maybe_delivered,omitempty"`
}

// Summary describes a queued message (`posthorn queue list`).
type Summary struct {
	ID          string    `json:"id"`
	From        string    `json:"from"`
	Size        int64     `json:"size"`
	Arrival     time.Time `json:"arrival"`
	Held        bool      `json:"held"`
	InFlight    bool      `json:"in_flight,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	Service     string    `json:"service,omitempty"`
	Client      string    `json:"client,omitempty"`
	// Personal is the list a personalized post is for (one transaction
	// per recipient, see docs/spool.md); "" for ordinary messages.
	Personal   string     `json:"personal,omitempty"`
	Recipients []RcptInfo `json:"recipients"`
}

// Detail adds the header section (`posthorn queue show`).
type Detail struct {
	Summary
	Headers string `json:"headers"`
}

// Summarize describes a spool message; place-specific fields are the caller's.
func Summarize(m *spool.Message) Summary {
	s := Summary{
		ID: m.Env.ID, From: m.Env.From, Size: m.BodyLen, Arrival: m.Env.Arrival,
		Held: m.State.Held, NextAttempt: m.State.NextAttempt,
		Service: m.Env.Service, Client: m.Env.Client, Personal: m.Env.Personal,
	}
	for i, r := range m.State.Rcpts {
		s.Recipients = append(s.Recipients, RcptInfo{
			Addr: m.Env.Rcpts[i], State: string(r.Status), Attempts: r.Attempts,
			LastError: r.LastError, LastAttempt: r.LastAttempt, Upstream: r.Upstream,
			MaybeDelivered: r.MaybeDelivered,
		})
	}
	return s
}

// SortSummaries orders by arrival, oldest first.
func SortSummaries(s []Summary) {
	sort.Slice(s, func(i, j int) bool {
		if !s[i].Arrival.Equal(s[j].Arrival) {
			return s[i].Arrival.Before(s[j].Arrival)
		}
		return s[i].ID < s[j].ID
	})
}

// List describes every queued message, oldest first.
func (q *Queue) List() []Summary {
	q.mu.Lock()
	its := make([]*item, 0, len(q.items))
	for _, it := range q.items {
		its = append(its, it)
	}
	q.mu.Unlock()
	out := q.summaries(its)
	SortSummaries(out)
	return out
}

// Show describes one message with its header section.
func (q *Queue) Show(id string) (*Detail, error) {
	q.mu.Lock()
	it, ok := q.items[id]
	q.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s: %w", id, errNotFound)
	}
	ss := q.summaries([]*item{it})
	if len(ss) == 0 {
		return nil, fmt.Errorf("%s: %w", id, errNotFound)
	}
	m, err := q.store.Load(id) // its file as it is now
	if err != nil {
		return nil, err
	}
	h, err := ReadHeaders(q.store, m)
	if err != nil {
		return nil, err
	}
	return &Detail{Summary: ss[0], Headers: h}, nil
}

// ReadHeaders returns the header section of a spooled message (at most 64 KiB).
func ReadHeaders(store *spool.Store, m *spool.Message) (string, error) {
	b, err := store.OpenBody(m)
	if err != nil {
		return "", err
	}
	defer b.Close()
	br := bufio.NewReader(io.LimitReader(b, 64<<10))
	var out bytes.Buffer
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		out.Write(line)
		if err != nil {
			break
		}
	}
	return out.String(), nil
}

// ErrNotFound is returned by operations on an unknown id.
var ErrNotFound = errNotFound

// Flush makes a message (or every message, for id "") due now.
func (q *Queue) Flush(id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if id == "" {
		now := q.opts.Now()
		mono := q.opts.Mono()
		for _, it := range q.retry {
			it.next = wallOf(now)
			if it.msg != nil {
				it.msg.State.NextAttempt = now
			}
			it.dueMono = mono
		}
		// Every key is now equal; the heap stays valid.
		q.signal()
		q.mlog.Record(maillog.Event{Kind: maillog.Operator, QueueID: "*", Action: "flush"})
		return nil
	}
	it, ok := q.items[id]
	if !ok {
		return fmt.Errorf("%s: %w", id, errNotFound)
	}
	switch it.place {
	case inFlight:
		it.wantFlush = true
	case inRetry:
		q.unlink(it)
		q.pushFresh(it)
	case inHeld:
		return fmt.Errorf("%s is held; release it first", id)
	}
	q.mlog.Record(opEvent(q.envLocked(it), "flush"))
	return nil
}

// Hold stops delivery attempts of a message until Release.
func (q *Queue) Hold(id string) error {
	return q.setHeld(id, true)
}

// Release makes a held message due now.
func (q *Queue) Release(id string) error {
	return q.setHeld(id, false)
}

func (q *Queue) setHeld(id string, held bool) error {
	q.mu.Lock()
	it, ok := q.items[id]
	if !ok {
		q.mu.Unlock()
		return fmt.Errorf("%s: %w", id, errNotFound)
	}
	action := map[bool]string{true: "hold", false: "release"}[held]
	if it.place == inFlight {
		// Applied when the current attempt ends.
		it.wantHold = held
		env := q.envLocked(it)
		q.mu.Unlock()
		q.mlog.Record(opEvent(env, action))
		return nil
	}
	if err := q.warmLocked(it); err != nil {
		q.mu.Unlock()
		return err
	}
	if it.msg.State.Held == held {
		q.mu.Unlock()
		return nil
	}
	prev := it.place
	q.unlink(it)
	it.place = inFlight // owned by this operation during the write
	st := cloneState(it.msg.State)
	st.Held = held
	if !held {
		st.NextAttempt = q.opts.Now()
	}
	it.msg.State = st
	q.mu.Unlock()

	err := q.store.SaveState(it.msg)

	q.mu.Lock()
	defer q.mu.Unlock()
	if err != nil {
		it.msg.State.Held = !held
		q.place(it, prev)
		return err
	}
	env := &it.msg.Env
	if held {
		it.place = inHeld
		q.coolLocked(it)
	} else {
		q.pushFresh(it)
	}
	q.mlog.Record(opEvent(env, action))
	return nil
}

// place puts an item back where it was.
func (q *Queue) place(it *item, p place) {
	switch p {
	case inFresh:
		q.pushFresh(it)
	case inRetry:
		q.pushRetry(it)
	default:
		it.place = p
	}
}

// Delete removes a message from the queue without notifying anyone.
func (q *Queue) Delete(id string) error {
	q.mu.Lock()
	it, ok := q.items[id]
	if !ok {
		q.mu.Unlock()
		return fmt.Errorf("%s: %w", id, errNotFound)
	}
	env := q.envLocked(it)
	if it.place == inFlight {
		it.wantDelete = true
		q.mu.Unlock()
		q.mlog.Record(opEvent(env, "delete"))
		return nil
	}
	prev := it.place
	q.unlink(it)
	delete(q.items, id)
	q.mu.Unlock()
	if err := q.store.Remove(id); err != nil {
		// Still on disk: keep it queued, as a restart would.
		q.mu.Lock()
		q.items[id] = it
		q.place(it, prev)
		q.mu.Unlock()
		return err
	}
	q.mlog.Record(opEvent(env, "delete"))
	e := event(env, maillog.Removed)
	e.Reply = "deleted by operator"
	q.mlog.Record(e)
	return nil
}
