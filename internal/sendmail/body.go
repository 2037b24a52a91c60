package sendmail

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// bodyReader streams the body: line endings become CRLF (an existing CRLF is
// kept, a lone CR is left alone), the last line gets a CRLF if it lacks one,
// and a line holding only "." ends the input unless ignoreDots.
type bodyReader struct {
	br          *bufio.Reader
	pending     []byte // converted bytes not yet returned
	buf         []byte // storage for pending
	done        bool   // no more input to read
	atLineStart bool
	heldCR      bool // a chunk ended in CR whose LF may follow
	ignoreDots  bool
	used        int64 // bytes of the message so far, header included
	limit       int64 // 0: none
	err         error // sticky
}

func (b *bodyReader) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.done {
			return 0, io.EOF
		}
		b.fill()
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// fill reads the next chunk of input (a line, or part of a long one) and
// converts it into pending.
func (b *bodyReader) fill() {
	chunk, err := b.br.ReadSlice('\n')
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
		b.err = &ReadError{Err: err}
		return
	}
	eof := errors.Is(err, io.EOF)
	out := b.buf[:0]
	if b.heldCR {
		out = append(out, '\r')
		b.heldCR = false
	}
	switch {
	case b.atLineStart && !b.ignoreDots && isDotLine(chunk, eof):
		b.done = true
		return
	case len(chunk) > 0 && chunk[len(chunk)-1] == '\n':
		out = append(out, chunk[:len(chunk)-1]...)
		out = append(bytes.TrimSuffix(out, []byte("\r")), '\r', '\n')
		b.atLineStart = true
	case eof:
		out = append(out, chunk...)
		if len(out) > 0 {
			out = append(bytes.TrimSuffix(out, []byte("\r")), '\r', '\n')
		}
	default: // part of a long line
		if chunk[len(chunk)-1] == '\r' {
			chunk = chunk[:len(chunk)-1]
			b.heldCR = true
		}
		out = append(out, chunk...)
		b.atLineStart = false
	}
	if eof {
		b.done = true
	}
	b.buf = out
	b.pending = out
	b.used += int64(len(out))
	if b.limit > 0 && b.used > b.limit {
		b.pending = nil
		b.err = &TooLargeError{Limit: b.limit}
	}
}

// isDotLine reports whether chunk, read at the start of a line, is a line
// holding only ".".
func isDotLine(chunk []byte, eof bool) bool {
	s := string(chunk)
	return s == ".\n" || s == ".\r\n" || (eof && (s == "." || s == ".\r"))
}
