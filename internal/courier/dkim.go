package courier

import (
	"io"
	"log/slog"
)

// Signer returns the DKIM-Signature fields for a message (CRLF-terminated,
// "" when its sender domain has no key); *dkim.Signer is one.
type Signer interface {
	Signature(msg io.Reader, envFrom string) (string, error)
}

// signed returns m with the DKIM signature fields in front of its body,
// m itself when nothing is signed. A failure to sign is a *BodyError:
// temporary, and no target is tried, so that mail of a signing domain
// never leaves unsigned.
func (c *Courier) signed(m *Message) (*Message, error) {
	if c.opts.DKIM == nil {
		return m, nil
	}
	sig, err := c.opts.DKIM.Signature(io.NewSectionReader(m.Body, 0, m.Size), m.From)
	if err != nil {
		c.log.Error("dkim signing failed", slog.String("queue_id", m.ID), slog.String("error", err.Error()))
		return nil, &BodyError{ID: m.ID, Err: err}
	}
	if sig == "" {
		return m, nil
	}
	out := *m
	out.Body = prefixed{head: []byte(sig), rest: m.Body}
	out.Size = m.Size + int64(len(sig))
	return &out, nil
}

// prefixed is head followed by rest, as an io.ReaderAt.
type prefixed struct {
	head []byte
	rest io.ReaderAt
}

func (p prefixed) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(p.head)) {
		n = copy(b, p.head[off:])
		if n == len(b) {
			return n, nil
		}
		off = int64(len(p.head))
	}
	m, err := p.rest.ReadAt(b[n:], off-int64(len(p.head)))
	return n + m, err
}

// WithHead returns head followed by rest as one io.ReaderAt: the message
// rest with header fields put in front of it.
func WithHead(head []byte, rest io.ReaderAt) io.ReaderAt {
	return prefixed{head: head, rest: rest}
}
