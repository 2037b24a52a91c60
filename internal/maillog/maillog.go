// Package maillog is the mail log: one structured Event per step in a
// message's life, each carrying the queue id, Message-ID and service,
// separate from debug logging.
//
// Events: accepted → (deferred)* → delivered | bounced (permanent failure or
// expiry) → removed; plus notice (bounce or delay warning generated),
// operator (hold, release, flush, delete), rejected (an SMTP command or
// message refused), error (our side failed), and session (an SMTP
// connection opened). List events (decision, held) come with lists.
//
// Every event is written to the slog logger as one record (msg = kind) and
// handed to each Sink: the metrics, the per-minute statistics and the trace
// store. Sinks are called synchronously on the mail path and must not block:
// they buffer and do their I/O elsewhere.
package maillog

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Kind names an event.
type Kind string

const (
	Accepted  Kind = "accepted"
	Delivered Kind = "delivered"
	Deferred  Kind = "deferred"
	Bounced   Kind = "bounced"
	Notice    Kind = "notice"
	Removed   Kind = "removed"
	Operator  Kind = "operator"
	Rejected  Kind = "rejected"
	Error     Kind = "error"
	Session   Kind = "session"  // an SMTP connection opened (logged at debug level)
	Decision  Kind = "decision" // a list's rule chain decided (accept, hold, ...)
	Held      Kind = "held"     // a list post held for moderation
)

// Event is one step in a message's life. Only the fields that apply to its
// Kind are set.
type Event struct {
	Time      time.Time
	Kind      Kind
	QueueID   string
	MessageID string
	Service   string // who submitted the message; "unknown" when nobody matched
	From      string // envelope sender
	Rcpt      string // the one recipient this event is about
	Rcpts     int    // number of recipients (accepted)
	Size      int64  // bytes (accepted)
	Client    string // client IP, or "local"
	Upstream  string // relay or MX host that answered
	Reply     string // the upstream's reply or our reason
	Stage     string // rejected: connect, mail, rcpt, data, session; error: the operation
	Attempts  int
	Delay     time.Duration // delivered: time since arrival
	Next      time.Time     // deferred: next attempt
	NoticeID  string        // notice: queue id of the generated notice
	Action    string        // operator: hold, release, flush, delete; decision: accept, hold, ...
	List      string
	Rules     []string // decision: the rules that hit
	Maybe     bool     // deferred after the upstream may have taken the message
}

// Sink receives every event. Record must not block.
type Sink interface {
	Record(Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event)

// Record calls f(e).
func (f SinkFunc) Record(e Event) { f(e) }

// Log writes mail events to a slog.Logger and to its sinks.
type Log struct {
	l     *slog.Logger
	sinks atomic.Pointer[[]Sink]
	now   func() time.Time
}

// New returns a mail log writing to l (nil discards) and to sinks.
func New(l *slog.Logger, sinks ...Sink) *Log {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	m := &Log{l: l.With(slog.String("log", "mail")), now: time.Now}
	m.sinks.Store(&sinks)
	return m
}

// AddSink adds a sink; safe while events are recorded.
func (m *Log) AddSink(s Sink) {
	for {
		old := m.sinks.Load()
		next := append(append([]Sink(nil), *old...), s)
		if m.sinks.CompareAndSwap(old, &next) {
			return
		}
	}
}

// Record logs e and hands it to every sink. A zero Time is set to now.
func (m *Log) Record(e Event) {
	if m == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = m.now()
	}
	level := slog.LevelInfo
	switch e.Kind {
	case Deferred, Bounced:
		level = slog.LevelWarn
	case Error:
		level = slog.LevelError
	case Session:
		level = slog.LevelDebug
	}
	// Straight to the handler: the same record as Logger.LogAttrs makes,
	// without the caller's program counter (no handler here logs the
	// source) and with the attributes on the stack.
	ctx := context.Background()
	if h := m.l.Handler(); h.Enabled(ctx, level) {
		r := slog.NewRecord(time.Now(), level, string(e.Kind), 0)
		var buf [16]slog.Attr
		r.AddAttrs(e.appendAttrs(buf[:0])...)
		_ = h.Handle(ctx, r)
	}
	for _, s := range *m.sinks.Load() {
		s.Record(e)
	}
}

// appendAttrs appends the event's set fields, as typed slog attributes,
// to a.
func (e *Event) appendAttrs(a []slog.Attr) []slog.Attr {
	str := func(k, v string) {
		if v != "" {
			a = append(a, slog.String(k, v))
		}
	}
	str("queue_id", e.QueueID)
	str("message_id", e.MessageID)
	str("service", e.Service)
	if e.Kind == Accepted || e.Kind == Decision {
		a = append(a, slog.String("from", e.From))
	}
	str("rcpt", e.Rcpt)
	if e.Rcpts > 0 {
		a = append(a, slog.Int("rcpts", e.Rcpts))
	}
	if e.Size > 0 {
		a = append(a, slog.Int64("size", e.Size))
	}
	str("client", e.Client)
	str("list", e.List)
	str("upstream", e.Upstream)
	str("reply", e.Reply)
	str("stage", e.Stage)
	str("action", e.Action)
	str("notice_id", e.NoticeID)
	if len(e.Rules) > 0 {
		a = append(a, slog.Any("rules", e.Rules))
	}
	if e.Attempts > 0 {
		a = append(a, slog.Int("attempts", e.Attempts))
	}
	if e.Delay > 0 {
		a = append(a, slog.Duration("delay", e.Delay))
	}
	if !e.Next.IsZero() {
		a = append(a, slog.Time("next_attempt", e.Next))
	}
	if e.Maybe {
		a = append(a, slog.Bool("maybe_delivered", true))
	}
	return a
}
