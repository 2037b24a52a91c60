package mbox

import (
	"bytes"
	"io"
	"time"
)

// Writer writes messages in mboxrd format.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer that appends messages to w. Each Write makes
// one call to w.Write.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// Write appends one message: a separator line with sender and date, raw
// with its From-quoting applied, a newline if raw does not end with one,
// and an empty line. A zero date is written as year 1 and reads back as a
// zero time.Time.
func (w *Writer) Write(sender string, date time.Time, raw []byte) error {
	b := append(w.buf[:0], formatFromLine(sender, date)...)
	for rest := raw; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if needsQuote(line) {
			b = append(b, '>')
		}
		b = append(b, line...)
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		b = append(b, '\n')
	}
	b = append(b, '\n')
	w.buf = b[:0]
	if len(b) > 1<<20 {
		w.buf = nil // do not keep a huge buffer around
	}
	_, err := w.w.Write(b)
	return err
}

// needsQuote reports whether line matches ">*From ".
func needsQuote(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From "))
}
