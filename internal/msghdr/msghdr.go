// Package msghdr reads the header section of a message as it streams in and
// adds what a submission relay must: a Received: trace field, and Message-ID:
// and Date: when the client left them out. It counts Received: fields so
// that a looping message is refused.
package msghdr

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"time"
)

// ErrHeaderTooLarge means the header section exceeds the limit.
var ErrHeaderTooLarge = errors.New("header section too large")

// Header is the header section of a message as read.
type Header struct {
	Raw          []byte // header lines as received, without the blank separator line
	Received     int    // number of Received: fields
	HasMessageID bool
	// MessageID is the Message-ID field's value as given on its first line
	// (angle brackets included), "" when absent or folded.
	MessageID string
	HasDate   bool
	HasFrom   bool
	// Ended is set when the header section ended with a blank line (as
	// opposed to the message ending, or a line that is not a header field,
	// which then starts the body).
	Ended bool
}

// Read consumes the header section from br (at most max bytes). A line that
// is neither a field nor a continuation ends the section and is left in br
// as the start of the body.
func Read(br *bufio.Reader, max int) (*Header, error) {
	return ReadAppend(br, max, nil)
}

// ReadAppend is Read that appends the header lines to buf (which may be
// a reused buffer of the caller's) and returns them as Raw.
func ReadAppend(br *bufio.Reader, max int, buf []byte) (*Header, error) {
	h := &Header{Raw: buf[:0]}
	for {
		peek, err := br.Peek(1)
		if len(peek) == 0 {
			if err == io.EOF {
				return h, nil
			}
			return nil, err
		}
		if peek[0] == ' ' || peek[0] == '\t' {
			if len(h.Raw) == 0 {
				return h, nil // body starts with white space: no header
			}
		} else if !looksLikeField(br) {
			if peek[0] == '\r' || peek[0] == '\n' {
				line, _ := br.ReadSlice('\n')
				_ = line
				h.Ended = true
			}
			return h, nil
		}
		line, err := br.ReadSlice('\n')
		for err == bufio.ErrBufferFull {
			h.Raw = append(h.Raw, line...)
			if len(h.Raw) > max {
				return nil, ErrHeaderTooLarge
			}
			line, err = br.ReadSlice('\n')
		}
		h.Raw = append(h.Raw, line...)
		if len(h.Raw) > max {
			return nil, ErrHeaderTooLarge
		}
		h.classify(line)
		if err == io.EOF {
			if len(line) > 0 && line[len(line)-1] != '\n' {
				h.Raw = append(h.Raw, '\r', '\n')
			}
			return h, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// looksLikeField reports whether the next line starts with "name:".
func looksLikeField(br *bufio.Reader) bool {
	for n := 1; n <= 80; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			_ = err
			return false
		}
		c := b[n-1]
		switch {
		case c == ':':
			return n > 1
		case c <= ' ' || c >= 127:
			return false
		}
	}
	return false
}

func (h *Header) classify(line []byte) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return
	}
	name := bytes.TrimRight(line[:i], " \t")
	switch {
	case isName(name, "received"):
		h.Received++
	case isName(name, "message-id"):
		h.HasMessageID = true
		if h.MessageID == "" {
			h.MessageID = string(bytes.TrimSpace(line[i+1:]))
		}
	case isName(name, "date"):
		h.HasDate = true
	case isName(name, "from"):
		h.HasFrom = true
	}
}

// isName reports whether the field name b is lower (in lower case),
// ignoring ASCII case.
func isName(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Trace describes the hop for the Received: field.
type Trace struct {
	Helo     string // what the client said in EHLO/HELO
	ClientIP string // "" for local submission
	By       string // our hostname
	With     string // "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA", "local"
	ID       string // queue id
	For      string // the recipient, when there is exactly one
	Time     time.Time
}

// Received returns the Received: field for t, folded, with CRLF.
func Received(t Trace) []byte {
	return AppendReceived(make([]byte, 0, 256), t)
}

// AppendReceived appends the Received: field for t to dst.
func AppendReceived(dst []byte, t Trace) []byte {
	dst = append(dst, "Received: "...)
	if t.ClientIP != "" {
		dst = append(dst, "from "...)
		dst = appendSanitized(dst, t.Helo)
		dst = append(dst, " (["...)
		dst = append(dst, t.ClientIP...)
		dst = append(dst, "])\r\n\t"...)
	} else {
		dst = append(dst, "from local\r\n\t"...)
	}
	dst = append(dst, "by "...)
	dst = append(dst, t.By...)
	dst = append(dst, " (Posthorn) with "...)
	dst = append(dst, t.With...)
	dst = append(dst, " id "...)
	dst = append(dst, t.ID...)
	if t.For != "" {
		dst = append(dst, "\r\n\tfor <"...)
		dst = appendSanitized(dst, t.For)
		dst = append(dst, '>')
	}
	dst = append(dst, ";\r\n\t"...)
	dst = t.Time.AppendFormat(dst, time.RFC1123Z)
	return append(dst, "\r\n"...)
}

// Missing returns the fields to append to the header section: Message-ID
// and Date when absent (nil when none is).
func Missing(h *Header, id, hostname string, now time.Time) []byte {
	return AppendMissing(nil, h, id, hostname, now)
}

// AppendMissing appends the fields Missing returns to dst. It sets
// h.MessageID to the generated id when the message had none.
func AppendMissing(dst []byte, h *Header, id, hostname string, now time.Time) []byte {
	if !h.HasMessageID {
		h.MessageID = GeneratedID(id, hostname)
		dst = append(dst, "Message-ID: "...)
		dst = append(dst, h.MessageID...)
		dst = append(dst, "\r\n"...)
	}
	if !h.HasDate {
		dst = append(dst, "Date: "...)
		dst = now.AppendFormat(dst, time.RFC1123Z)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// appendSanitized appends client-supplied text so that it cannot break the
// field: at most 255 bytes, anything but printable ASCII other than
// parentheses and backslash replaced by "_"; "unknown" for "".
func appendSanitized(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "unknown"...)
	}
	for i := 0; i < len(s) && i < 255; i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '(' || c == ')' || c == '\\' {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// GeneratedID is the Message-ID given to a message that has none.
func GeneratedID(id, hostname string) string { return "<" + id + "@" + hostname + ">" }
