// Package maillog is the mail log: one structured record per event in a
// message's life, each carrying the queue id, separate from debug logging.
//
// Events: accepted → (deferred)* → delivered | bounced | expired → removed;
// plus held, released, deleted by an operator, notice (bounce or delay
// warning generated), rejected (an SMTP command or message refused).
package maillog

import (
	"log/slog"
	"time"
)

// Log writes mail events to a slog.Logger.
type Log struct {
	l *slog.Logger
}

// New returns a mail log writing to l (nil discards).
func New(l *slog.Logger) *Log {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Log{l: l.With(slog.String("log", "mail"))}
}

// Accepted records a message durably queued.
func (m *Log) Accepted(id, from string, rcpts int, size int64, client, service string) {
	m.l.Info("accepted", slog.String("queue_id", id), slog.String("from", from),
		slog.Int("rcpts", rcpts), slog.Int64("size", size),
		slog.String("client", client), slog.String("service", service))
}

// Delivered records one recipient accepted by an upstream.
func (m *Log) Delivered(id, rcpt, upstream string, delay time.Duration, attempts int) {
	m.l.Info("delivered", slog.String("queue_id", id), slog.String("rcpt", rcpt),
		slog.String("upstream", upstream), slog.Duration("delay", delay), slog.Int("attempts", attempts))
}

// Deferred records a temporary failure for one recipient.
func (m *Log) Deferred(id, rcpt, upstream, reason string, next time.Time, attempts int) {
	m.l.Warn("deferred", slog.String("queue_id", id), slog.String("rcpt", rcpt),
		slog.String("upstream", upstream), slog.String("reason", reason),
		slog.Time("next_attempt", next), slog.Int("attempts", attempts))
}

// Bounced records a permanent failure (or expiry) for one recipient.
func (m *Log) Bounced(id, rcpt, upstream, reason string, attempts int) {
	m.l.Warn("bounced", slog.String("queue_id", id), slog.String("rcpt", rcpt),
		slog.String("upstream", upstream), slog.String("reason", reason), slog.Int("attempts", attempts))
}

// Notice records a bounce or delay notice generated for a message.
func (m *Log) Notice(id, kind, noticeID, to string) {
	m.l.Info("notice", slog.String("queue_id", id), slog.String("kind", kind),
		slog.String("notice_id", noticeID), slog.String("to", to))
}

// Removed records a message leaving the queue.
func (m *Log) Removed(id, reason string) {
	m.l.Info("removed", slog.String("queue_id", id), slog.String("reason", reason))
}

// Operator records an operator action (hold, release, delete, flush).
func (m *Log) Operator(id, action string) {
	m.l.Info("operator", slog.String("queue_id", id), slog.String("action", action))
}

// Rejected records a refused SMTP command or message.
func (m *Log) Rejected(client, stage, reason string) {
	m.l.Info("rejected", slog.String("client", client), slog.String("stage", stage),
		slog.String("reason", reason))
}

// Error records a failure on our side that affects a message.
func (m *Log) Error(id, op string, err error) {
	m.l.Error("error", slog.String("queue_id", id), slog.String("op", op), slog.String("error", err.Error()))
}
