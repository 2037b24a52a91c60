package syslogfwd

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
)

// handler is the tee returned by (*Forwarder).Handler.
type handler struct {
	f    *Forwarder
	next slog.Handler
	// ops replays WithAttrs/WithGroup on the JSON handler that formats
	// the message body, so the body matches what a JSON handler derived
	// the same way writes.
	ops []op
	// top holds the attributes of interest (log, queue_id, service)
	// added by WithAttrs before any group was opened.
	top     topAttrs
	grouped bool
}

type op struct {
	group string
	attrs []slog.Attr
}

type topAttrs struct {
	mail             bool
	queueID, service string
}

// note records a's value if it is one of the attributes the header uses.
func (t *topAttrs) note(a slog.Attr) {
	switch a.Key {
	case "log":
		v := a.Value.Resolve()
		t.mail = v.Kind() == slog.KindString && v.String() == "mail"
	case "queue_id":
		t.queueID = a.Value.Resolve().String()
	case "service":
		t.service = a.Value.Resolve().String()
	}
}

// Enabled reports whether the next handler or the forwarder wants records
// of level l.
func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.next.Enabled(ctx, l) {
		return true
	}
	return h.f.o.Level != nil && l >= h.f.o.Level.Level()
}

// Handle passes r to the next handler and queues it for the collector.
// It never waits for the network.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	nextOn := h.next.Enabled(ctx, r.Level)
	if nextOn {
		err = h.next.Handle(ctx, r)
	}
	forward := nextOn
	if h.f.o.Level != nil {
		forward = r.Level >= h.f.o.Level.Level()
	}
	if !forward {
		return err
	}
	top := h.top
	if !h.grouped {
		r.Attrs(func(a slog.Attr) bool {
			top.note(a)
			return true
		})
	}
	if h.f.o.MailOnly && !top.mail {
		return err
	}
	if frame, ok := h.format(ctx, r, &top); ok {
		h.f.enqueue(frame)
	}
	return err
}

// WithAttrs returns a tee whose records carry attrs on both sides.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	c.next = h.next.WithAttrs(attrs)
	c.ops = append(h.ops[:len(h.ops):len(h.ops)], op{attrs: append([]slog.Attr(nil), attrs...)})
	if !h.grouped {
		for _, a := range attrs {
			c.top.note(a)
		}
	}
	return &c
}

// WithGroup returns a tee that nests later attributes under name on both
// sides.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.ops = append(h.ops[:len(h.ops):len(h.ops)], op{group: name})
	c.grouped = true
	return &c
}

// severity maps a slog level to an RFC 5424 severity.
func severity(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // error
	case l >= slog.LevelWarn:
		return 4 // warning
	case l >= slog.LevelInfo:
		return 6 // informational
	default:
		return 7 // debug
	}
}

// format renders r as one octet-counted RFC 5424 frame.
func (h *handler) format(ctx context.Context, r slog.Record, top *topAttrs) ([]byte, bool) {
	f := h.f
	buf := f.bufs.Get().(*bytes.Buffer)
	defer f.bufs.Put(buf)
	buf.Reset()
	if r.Time.IsZero() {
		r.Time = f.o.Now()
	}
	b := buf.AvailableBuffer()
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(f.facility*8+severity(r.Level)), 10)
	b = append(b, ">1 "...)
	b = r.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	b = append(b, f.header...) // HOSTNAME SP APP-NAME SP PROCID SP
	if top.mail {
		b = append(b, "mail "...)
	} else {
		b = append(b, "- "...)
	}
	b = appendSD(b, top)
	b = append(b, ' ')
	buf.Write(b)
	start := buf.Len()

	var jh slog.Handler = slog.NewJSONHandler(buf, nil)
	for _, o := range h.ops {
		if o.group != "" {
			jh = jh.WithGroup(o.group)
		} else {
			jh = jh.WithAttrs(o.attrs)
		}
	}
	if err := jh.Handle(ctx, r); err != nil || buf.Len() == start {
		return nil, false
	}
	msg := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	frame := make([]byte, 0, len(msg)+8)
	frame = strconv.AppendInt(frame, int64(len(msg)), 10)
	frame = append(frame, ' ')
	frame = append(frame, msg...)
	return frame, true
}

// appendSD appends the STRUCTURED-DATA field.
func appendSD(b []byte, top *topAttrs) []byte {
	if top.queueID == "" && top.service == "" {
		return append(b, '-')
	}
	b = append(b, "[posthorn@32473"...)
	if top.queueID != "" {
		b = appendParam(b, "queue_id", top.queueID)
	}
	if top.service != "" {
		b = appendParam(b, "service", top.service)
	}
	return append(b, ']')
}

// appendParam appends SP name="value", escaping '"', '\' and ']' in value
// (RFC 5424 section 6.3.3) and replacing invalid UTF-8.
func appendParam(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, '=', '"')
	value = strings.ToValidUTF8(value, "\uFFFD")
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '"', '\\', ']':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
