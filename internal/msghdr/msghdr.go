// Package msghdr reads the header section of a message as it streams in and
// adds what a submission relay must: a Received: trace field, and Message-ID:
// and Date: when the client left them out. It counts Received: fields so
// that a looping message is refused.
package msghdr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
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
	h := &Header{}
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
	switch name := string(bytes.TrimRight(line[:i], " \t")); {
	case equalFold(name, "Received"):
		h.Received++
	case equalFold(name, "Message-ID"):
		h.HasMessageID = true
		if h.MessageID == "" {
			h.MessageID = string(bytes.TrimSpace(line[i+1:]))
		}
	case equalFold(name, "Date"):
		h.HasDate = true
	case equalFold(name, "From"):
		h.HasFrom = true
	}
}

func equalFold(a, b string) bool { return len(a) == len(b) && bytes.EqualFold([]byte(a), []byte(b)) }

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
	var b bytes.Buffer
	b.WriteString("Received: ")
	if t.ClientIP != "" {
		fmt.Fprintf(&b, "from %s ([%s])\r\n\t", sanitize(t.Helo), t.ClientIP)
	} else {
		b.WriteString("from local\r\n\t")
	}
	fmt.Fprintf(&b, "by %s (Posthorn) with %s id %s", t.By, t.With, t.ID)
	if t.For != "" {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", sanitize(t.For))
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", t.Time.Format(time.RFC1123Z))
	return b.Bytes()
}

// Missing returns the fields to append to the header section: Message-ID
// and Date when absent.
func Missing(h *Header, id, hostname string, now time.Time) []byte {
	if !h.HasMessageID {
		h.MessageID = GeneratedID(id, hostname)
	}
	var b []byte
	if !h.HasMessageID {
		b = fmt.Appendf(b, "Message-ID: %s\r\n", h.MessageID)
	}
	if !h.HasDate {
		b = fmt.Appendf(b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	}
	return b
}

// sanitize keeps client-supplied text from breaking the field.
func sanitize(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(out) < 255; i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '(' || c == ')' || c == '\\' {
			c = '_'
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return "unknown"
	}
	return string(out)
}

// GeneratedID is the Message-ID given to a message that has none.
func GeneratedID(id, hostname string) string { return "<" + id + "@" + hostname + ">" }
