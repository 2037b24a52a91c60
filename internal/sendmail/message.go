package sendmail

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// MaxHeaderSize caps the header section of a message.
const MaxHeaderSize = 1 << 20

// Message is a message read from the input, ready to be spooled. The stored
// message is Header, an empty line ("\r\n"), then Body.
type Message struct {
	From   string   // envelope sender: opts.From, "" for the null sender, else defaultFrom
	Rcpts  []string // envelope recipients, duplicates removed (ignoring case)
	Header []byte   // header fields, each line ending in CRLF, without the empty line
	Body   io.Reader
}

// field is one header field as read: its name and its lines, CRLF-terminated.
type field struct {
	name string
	raw  []byte
}

// value returns the field's body unfolded.
func (f field) value() string {
	_, v, _ := bytes.Cut(f.raw, []byte(":"))
	v = bytes.ReplaceAll(v, []byte("\r\n"), nil)
	return strings.TrimSpace(string(v))
}

// ReadMessage reads a message from r as sendmail(1) does with opts.
// defaultFrom is the envelope sender when none was given (user@host). With
// maxSize > 0, a header section and body of more than maxSize bytes (after
// line-ending conversion) give a *TooLargeError, from ReadMessage or from
// Body's Read. Errors are *HeaderError, *TooLargeError, *NoRecipientsError
// and *ReadError.
func ReadMessage(r io.Reader, opts Options, defaultFrom string, maxSize int64) (*Message, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	fields, first, done, err := readHeader(br, opts.IgnoreDots)
	if err != nil {
		return nil, err
	}

	m := &Message{From: defaultFrom}
	switch {
	case opts.NullSender:
		m.From = ""
	case opts.From != "":
		m.From = opts.From
	}

	var header bytes.Buffer
	var hasFrom bool
	for _, f := range fields {
		switch strings.ToLower(f.name) {
		case "bcc", "resent-bcc":
			continue
		case "from":
			hasFrom = true
		}
		header.Write(f.raw)
	}
	if !hasFrom && m.From != "" {
		header.WriteString("From: " + formatFrom(opts.FullName, m.From) + "\r\n")
	}
	if header.Len() > MaxHeaderSize {
		return nil, &HeaderError{Reason: "header section larger than 1 MiB"}
	}
	m.Header = header.Bytes()

	m.Rcpts = dedupe(opts.Rcpts)
	if opts.ExtractRcpts {
		found, err := headerRcpts(fields)
		if err != nil {
			return nil, err
		}
		m.Rcpts = dedupe(append(m.Rcpts, found...))
	}
	if len(m.Rcpts) == 0 {
		return nil, &NoRecipientsError{Extract: opts.ExtractRcpts}
	}

	used := int64(len(m.Header)) + 2 + int64(len(first)) // 2: the empty line
	if maxSize > 0 && used > maxSize {
		return nil, &TooLargeError{Limit: maxSize}
	}
	m.Body = &bodyReader{
		br:          br,
		pending:     first,
		done:        done,
		atLineStart: true,
		ignoreDots:  opts.IgnoreDots,
		used:        used,
		limit:       maxSize,
	}
	return m, nil
}

// readHeader reads the header section. It returns the fields, the first body
// line already read (normalised) when the section ended without an empty
// line, and whether the input already ended (EOF or a lone dot).
func readHeader(br *bufio.Reader, ignoreDots bool) (fields []field, first []byte, done bool, err error) {
	size := 0
	for n := 0; ; n++ {
		line, eof, err := readLine(br, MaxHeaderSize-size)
		if err != nil {
			return nil, nil, false, err
		}
		if eof && line == nil {
			return fields, nil, true, nil
		}
		content := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		switch {
		case n == 0 && bytes.HasPrefix(content, []byte("From ")):
			continue // mbox separator
		case !ignoreDots && string(content) == ".":
			return fields, nil, true, nil
		case len(content) == 0:
			return fields, nil, eof, nil
		case (content[0] == ' ' || content[0] == '\t') && len(fields) > 0:
			fields[len(fields)-1].raw = append(append(fields[len(fields)-1].raw, content...), '\r', '\n')
		case headerName(content) != "":
			fields = append(fields, field{name: headerName(content), raw: append(bytes.Clone(content), '\r', '\n')})
		default: // not a header field: the body starts here
			return fields, append(bytes.Clone(content), '\r', '\n'), eof, nil
		}
		size += len(content) + 2
		if eof {
			return fields, nil, true, nil
		}
	}
}

// readLine reads one line including its LF, at most limit bytes. A last line
// without LF is returned with eof set; at the end of input it returns nil
// and eof.
func readLine(br *bufio.Reader, limit int) (line []byte, eof bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			return nil, false, &HeaderError{Reason: "header section larger than 1 MiB"}
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line, false, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return line, true, nil
		default:
			return nil, false, &ReadError{Err: err}
		}
	}
}

// headerName returns the field name if line starts a header field: a name
// of printable ASCII without ':', optional blanks, then ':'.
func headerName(line []byte) string {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return ""
	}
	j := i
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	if j == len(line) || line[j] != ':' {
		return ""
	}
	return string(line[:i])
}

// dedupe removes repeated addresses, comparing without case, keeping the
// first spelling and the order.
func dedupe(addrs []string) []string {
	seen := make(map[string]bool, len(addrs))
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		k := strings.ToLower(a)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}
