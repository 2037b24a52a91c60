package mbox

import (
	"bufio"
	"bytes"
	"io"
	"time"
)

// Reader reads messages from an mbox file. See the package comment for
// the rules it applies.
type Reader struct {
	// MaxSize, when positive, bounds the size of a message (and of the data
	// before the first "From " line) kept in memory. A larger message is
	// skipped and reported as a *TooLargeError. Set it before the first
	// call to Next.
	MaxSize int64

	br      *bufio.Reader
	format  Format
	seenRD  bool   // Auto: a ">>From " line was seen
	started bool   // the data before the first separator has been handled
	next    *sep   // the separator line of the message Next returns next
	err     error  // sticky: io.EOF or a read error
	buf     []byte // the current line

	off      int64 // offset of the next byte to read
	line     int   // number of lines read
	lineOff  int64 // offset of the line readLine returned last
	lineNo   int   // 1-based number of that line
	firstOff int64 // offset the Reader started at
}

// sep is a parsed "From " line.
type sep struct {
	sender string
	date   time.Time
	off    int64
	line   int
}

// NewReader returns a Reader for the mbox file r, read from its start.
func NewReader(r io.Reader, f Format) *Reader {
	return NewReaderAtLine(r, f, 0, 1)
}

// NewReaderAt returns a Reader that resumes reading a file at offset, which
// must be a Message.Offset from an earlier read; r must be positioned there.
// Offsets stay absolute. Line numbers count from 1 at offset; use
// NewReaderAtLine when the line number is known. For Auto the decision
// about the format starts afresh.
func NewReaderAt(r io.Reader, f Format, offset int64) *Reader {
	return NewReaderAtLine(r, f, offset, 1)
}

// NewReaderAtLine is NewReaderAt for a caller that also kept the
// Message.Line of the message at offset, so line numbers stay absolute too.
func NewReaderAtLine(r io.Reader, f Format, offset int64, line int) *Reader {
	if line < 1 {
		line = 1
	}
	return &Reader{
		br:       bufio.NewReaderSize(r, 64<<10),
		format:   f,
		off:      offset,
		firstOff: offset,
		line:     line - 1,
	}
}

// Format returns the format the Reader applies: the one it was created
// with, except that Auto turns into Mboxrd once a line that the two
// formats read differently (">>From ") has been seen.
func (r *Reader) Format() Format {
	if r.format == Auto && r.seenRD {
		return Mboxrd
	}
	return r.format
}

// Next returns the next message, or io.EOF after the last one. A
// *FormatError or *TooLargeError reports data that is not returned as a
// message; reading may go on after them. Any other error is from the
// underlying reader and is returned again by every later call.
func (r *Reader) Next() (*Message, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.started {
		r.started = true
		if err := r.leading(); err != nil {
			return nil, err
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	s := r.next
	r.next = nil
	var raw []byte
	var size int64
	tooLarge := false
	for {
		line, n, err := r.readLine(!tooLarge)
		if err != nil {
			r.err = err
			if err != io.EOF {
				return nil, err
			}
			break
		}
		if bytes.HasPrefix(line, []byte("From ")) {
			r.next = r.parseSep(line)
			break
		}
		size += n
		if tooLarge {
			continue
		}
		if r.MaxSize > 0 && size > r.MaxSize {
			tooLarge, raw = true, nil
			continue
		}
		raw = append(raw, r.unquote(line)...)
	}
	if tooLarge {
		return nil, &TooLargeError{Sender: s.sender, Line: s.line, Offset: s.off, Size: size, Limit: r.MaxSize}
	}
	if raw == nil {
		raw = []byte{}
	}
	return &Message{Sender: s.sender, Date: s.date, Raw: trimSeparator(raw), Offset: s.off, Line: s.line}, nil
}

// leading reads up to the first separator line. Bytes before it are
// returned as a *FormatError.
func (r *Reader) leading() error {
	var data []byte
	var size int64
	startOff, startLine := r.off, r.line+1
	for {
		line, n, err := r.readLine(true)
		if err != nil {
			r.err = err
			break
		}
		if bytes.HasPrefix(line, []byte("From ")) {
			r.next = r.parseSep(line)
			break
		}
		if r.MaxSize <= 0 || size < r.MaxSize {
			keep := int64(len(line))
			if r.MaxSize > 0 {
				keep = min(keep, r.MaxSize-size)
			}
			data = append(data, line[:keep]...)
		}
		size += n
	}
	if size == 0 {
		return nil
	}
	reason := "data before the first \"From \" line"
	if r.firstOff != 0 {
		reason = "data at the resume offset is not a \"From \" line"
	}
	return &FormatError{Line: startLine, Offset: startOff, Reason: reason, Data: data, Size: size}
}

// readLine reads one line, line ending included. With keep false only the
// first bytes of the line are kept, unless it is a separator line. It
// returns io.EOF when no byte is left; a last line without a newline is
// returned without error.
func (r *Reader) readLine(keep bool) ([]byte, int64, error) {
	r.buf = r.buf[:0]
	r.lineOff = r.off
	var n int64
	first := true
	for {
		chunk, err := r.br.ReadSlice('\n')
		n += int64(len(chunk))
		r.off += int64(len(chunk))
		if first && len(chunk) > 0 {
			first = false
			keep = keep || bytes.HasPrefix(chunk, []byte("From "))
		}
		if keep {
			r.buf = append(r.buf, chunk...)
		} else if len(r.buf) < 8 {
			r.buf = append(r.buf, chunk[:min(len(chunk), 8-len(r.buf))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && n > 0 {
			err = nil
		}
		if n > 0 {
			r.line++
			r.lineNo = r.line
		}
		return r.buf, n, err
	}
}

// parseSep parses the separator line readLine returned last.
func (r *Reader) parseSep(line []byte) *sep {
	rest := bytes.TrimRight(line[len("From "):], "\r\n")
	sender, date := parseFromLine(string(rest))
	return &sep{sender: sender, date: date, off: r.lineOff, line: r.lineNo}
}

// unquote undoes the From-quoting of one line.
func (r *Reader) unquote(line []byte) []byte {
	if len(line) == 0 || line[0] != '>' {
		return line
	}
	i := 1
	for i < len(line) && line[i] == '>' {
		i++
	}
	if !bytes.HasPrefix(line[i:], []byte("From ")) {
		return line
	}
	switch r.format {
	case Mboxo:
		if i > 1 {
			return line
		}
	case Auto:
		if i > 1 {
			r.seenRD = true
		}
	}
	return line[1:]
}

// trimSeparator removes the empty line that ends a message in an mbox file.
func trimSeparator(b []byte) []byte {
	switch {
	case string(b) == "\n" || string(b) == "\r\n":
		return b[:0]
	case bytes.HasSuffix(b, []byte("\n\n")):
		return b[:len(b)-1]
	case bytes.HasSuffix(b, []byte("\n\r\n")):
		return b[:len(b)-2]
	}
	return b
}
