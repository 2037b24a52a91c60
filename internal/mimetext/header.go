package mimetext

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// field is one header field: its name as written and its value unfolded
// (line breaks removed, the whitespace after them kept).
type field struct {
	name, value string
}

type header []field

// get returns the value of the first field called name, trimmed.
func (h header) get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return strings.TrimSpace(f.value)
		}
	}
	return ""
}

// splitHeader splits a message or part into its header fields and body.
// top is set for a whole message (where a missing header is a problem and
// a leading mbox "From " line is skipped).
func (w *walker) splitHeader(raw []byte, top bool) (header, []byte) {
	var h header
	var last []byte // value of the last field while continuation lines come
	done := func(body []byte) (header, []byte) {
		if len(h) > 0 {
			h[len(h)-1].value = string(last)
		}
		return h, body
	}
	for pos, n := 0, 1; pos < len(raw); n++ {
		end := bytes.IndexByte(raw[pos:], '\n')
		next := len(raw)
		if end >= 0 {
			next = pos + end + 1
		}
		line := bytes.TrimRight(raw[pos:next], "\r\n")
		switch {
		case len(line) == 0:
			return done(raw[next:])
		case (line[0] == ' ' || line[0] == '\t') && len(h) > 0:
			last = append(last, line...)
		case isField(line):
			if len(h) > 0 {
				h[len(h)-1].value = string(last)
			}
			i := bytes.IndexByte(line, ':')
			h = append(h, field{name: string(bytes.TrimRight(line[:i], " \t"))})
			last = append(last[:0:0], line[i+1:]...)
		case top && n == 1 && bytes.HasPrefix(line, []byte("From ")):
			// mbox envelope line left in the message
		case len(h) == 0:
			if top {
				w.problem("the message has no header section")
			}
			return nil, raw
		default:
			w.problem(fmt.Sprintf("header line %d is not a header field; the body starts there", n))
			return done(raw[pos:])
		}
		pos = next
	}
	return done(nil)
}

// isField reports whether line starts with a field name and a colon.
func isField(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// text returns the decoded value of the first field called name: 8-bit
// bytes read as windows-1252 unless they are UTF-8, encoded words decoded.
func (w *walker) text(h header, name string) string {
	return w.decodeWords(name, w.utf8Value(h, name))
}

// utf8Value returns the value of field name converted to UTF-8.
func (w *walker) utf8Value(h header, name string) string {
	v := h.get(name)
	if utf8.ValidString(v) {
		return v
	}
	w.problem(fmt.Sprintf("%s: 8-bit header read as windows-1252", name))
	s, _ := decodeCharset("windows-1252", []byte(v))
	return s
}

// decodeWords decodes RFC 2047 encoded words in s; on failure it returns
// s and records a problem.
func (w *walker) decodeWords(name, s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	out, err := dec.DecodeHeader(s)
	if err != nil {
		w.problem(fmt.Sprintf("%s: %v", name, err))
		return s
	}
	return strings.ToValidUTF8(out, "\uFFFD")
}

// readHeader fills the header part of w.doc.
func (w *walker) readHeader(h header) {
	d := w.doc
	d.Subject = collapse(w.text(h, "Subject"))
	if from := w.addresses(h, "From"); len(from) > 0 {
		d.FromName, d.FromAddr = from[0].Name, from[0].Address
	}
	for _, a := range w.addresses(h, "To") {
		d.To = append(d.To, display(a))
	}
	for _, a := range w.addresses(h, "Cc") {
		d.Cc = append(d.Cc, display(a))
	}
	if v := h.get("Date"); v != "" {
		if t, ok := parseDate(v); ok {
			d.Date = t
		} else {
			w.problem(fmt.Sprintf("Date: cannot parse %q", v))
		}
	}
	if ids := msgIDs(h.get("Message-ID"), 1); len(ids) > 0 {
		d.MessageID = ids[0]
	}
	if ids := msgIDs(h.get("In-Reply-To"), 1); len(ids) > 0 {
		d.InReplyTo = ids[0]
	}
	d.References = msgIDs(h.get("References"), maxIDs)
}

// addresses parses an address list field, strictly with net/mail first,
// then leniently: comma-separated items, each "name <addr>" or "addr".
func (w *walker) addresses(h header, name string) []*mail.Address {
	v := w.utf8Value(h, name)
	if v == "" {
		return nil
	}
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader}}
	if list, err := p.ParseList(v); err == nil {
		for _, a := range list {
			a.Name = collapse(strings.ToValidUTF8(a.Name, "\uFFFD"))
		}
		return list
	}
	var list []*mail.Address
	for _, item := range strings.Split(w.decodeWords(name, v), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		a := &mail.Address{Address: item}
		if i, j := strings.LastIndexByte(item, '<'), strings.LastIndexByte(item, '>'); i >= 0 && j > i {
			a.Name = strings.Trim(strings.TrimSpace(item[:i]), `"`)
			a.Address = strings.TrimSpace(item[i+1 : j])
		}
		a.Name = collapse(a.Name)
		list = append(list, a)
	}
	return list
}

// display formats an address for a To or Cc list.
func display(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

// parseDate parses a Date field with net/mail, then with a few layouts seen
// from broken mailers.
func parseDate(v string) (time.Time, bool) {
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	if i := strings.IndexByte(v, '('); i > 0 {
		v = strings.TrimSpace(v[:i])
	}
	v = strings.Join(strings.Fields(v), " ")
	for _, layout := range []string{
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04:05",
		"Mon, 2 Jan 06 15:04:05 -0700",
		"2 Jan 2006 15:04:05",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon, 2 Jan 2006 15:04 -0700",
		"2006-01-02 15:04:05 -0700",
		time.RFC3339,
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// msgIDs returns up to limit message ids from a Message-ID, In-Reply-To or
// References value: every "<...>" in it, or, when there is none, the first
// word that looks like an id (contains '@').
func msgIDs(v string, limit int) []string {
	var ids []string
	for rest := v; len(ids) < limit; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(rest[i+1 : i+j]); id != "" && !strings.ContainsAny(id, " \t") {
			ids = append(ids, id)
		}
		rest = rest[i+j+1:]
	}
	if len(ids) == 0 {
		for _, f := range strings.Fields(v) {
			if strings.Contains(f, "@") && len(ids) < limit {
				ids = append(ids, strings.Trim(f, "<>"))
			}
		}
	}
	return ids
}

// collapse trims s and replaces runs of white space with one space.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
