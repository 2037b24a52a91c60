package courier

import (
	"context"
	"log/slog"
)

const slogWarn = slog.LevelWarn

func attrAddr(addr string) slog.Attr { return slog.String("addr", addr) }

func attrErr(err error) slog.Attr {
	if err == nil {
		return slog.String("error", "")
	}
	return slog.String("error", err.Error())
}

// logAttempt records the outcome of one transaction (or failed connection).
func (c *Courier) logAttempt(ctx context.Context, t target, m *Message, rcpts, accepted, code int, err error, tls, reused, maybe bool) {
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
	}
	c.log.LogAttrs(ctx, level, "delivery attempt",
		slog.String("queue_id", m.ID),
		slog.String("upstream", t.label),
		attrAddr(t.addr),
		slog.Int("rcpts", rcpts),
		slog.Int("accepted", accepted),
		slog.Int("code", code),
		slog.Bool("tls", tls),
		slog.Bool("reused", reused),
		slog.Bool("maybe_delivered", maybe),
		attrErr(err),
	)
}

func attrQueueID(id string) slog.Attr { return slog.String("queue_id", id) }

func attrDomain(d string) slog.Attr { return slog.String("domain", d) }
