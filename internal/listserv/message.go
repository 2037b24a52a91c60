package listserv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/lists"
)

// field is one header field as received, folding kept, CRLF line ends.
type field struct {
	name string // as written
	raw  []byte // "Name: value\r\n" including continuation lines
}

// value is the unfolded value, trimmed.
func (f field) value() string {
	v := f.raw[len(f.name)+1:]
	s := strings.NewReplacer("\r\n", "", "\n", "").Replace(string(v))
	return strings.TrimSpace(s)
}

func (f field) is(name string) bool { return strings.EqualFold(f.name, name) }

// message is a message read from the queue.
type message struct {
	raw    []byte
	fields []field
	body   []byte // after the blank line, CRLF line ends
	from   string // envelope sender
	post   *lists.Post
}

func readMessage(m *courier.Message) (*message, error) {
	raw, err := io.ReadAll(io.NewSectionReader(m.Body, 0, m.Size))
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	return parseMessage(raw, m.From, len(m.Rcpts))
}

func parseMessage(raw []byte, envFrom string, rcpts int) (*message, error) {
	p, err := lists.ReadPost(bytes.NewReader(raw), envFrom, rcpts)
	if err != nil {
		return nil, err
	}
	fields, body := splitHeader(raw)
	return &message{raw: raw, fields: fields, body: body, from: envFrom, post: p}, nil
}

// splitHeader cuts raw into header fields and body; lines that are neither
// fields nor continuations are dropped from the header.
func splitHeader(raw []byte) ([]field, []byte) {
	var fields []field
	rest := raw
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		var line []byte
		if i < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:i+1], rest[i+1:]
		}
		text := bytes.TrimRight(line, "\r\n")
		if len(text) == 0 {
			return fields, crlf(rest)
		}
		if (text[0] == ' ' || text[0] == '\t') && len(fields) > 0 {
			f := &fields[len(fields)-1]
			f.raw = append(append(f.raw, text...), '\r', '\n')
			continue
		}
		colon := bytes.IndexByte(text, ':')
		if colon <= 0 || bytes.ContainsAny(text[:colon], " \t") {
			continue
		}
		fields = append(fields, field{name: string(text[:colon]), raw: append(append([]byte(nil), text...), '\r', '\n')})
	}
	return fields, nil
}

// crlf makes every line end in CRLF.
func crlf(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) || bytes.Count(b, []byte("\r\n")) == bytes.Count(b, []byte("\n")) {
		return b
	}
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

func (m *message) get(name string) string {
	for _, f := range m.fields {
		if f.is(name) {
			return f.value()
		}
	}
	return ""
}

// subject is the decoded Subject.
func (m *message) subject() string {
	s := m.get("Subject")
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// key identifies the post for idempotency: its Message-ID, else a digest.
func (m *message) key() string {
	if id := m.get("Message-Id"); id != "" {
		return id
	}
	sum := sha256.Sum256(m.raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// sender is the address replies and notices go to: the envelope sender,
// else the From address.
func (m *message) sender() string {
	if a := strings.Trim(m.from, "<>"); a != "" {
		return a
	}
	if a, _, err := lists.NormalizeAddress(m.get("From")); err == nil {
		return a
	}
	return ""
}

// replyAddr is the address a command's answer goes to: From, else the envelope sender.
func (m *message) replyAddr() string {
	if a, _, err := lists.NormalizeAddress(m.get("From")); err == nil {
		return a
	}
	return strings.Trim(m.from, "<>")
}
