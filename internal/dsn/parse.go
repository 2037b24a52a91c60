package dsn

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of Parse: input read, status part size, recipient blocks, nesting.
const (
	maxParseInput      = 16 << 20
	maxStatusPart      = 1 << 20
	maxParseRecipients = 1000
	maxParseDepth      = 3
)

// ErrNotDSN says a message holds no delivery status report (RFC 3464): it
// may still be a bounce in some plain-text format.
var ErrNotDSN = errors.New("dsn: not a delivery status notification")

// Notification is what Parse read from a delivery status report.
type Notification struct {
	ReportingMTA       string // type; name, e.g. "dns; mx.example.net"
	OriginalEnvelopeID string
	Recipients         []RecipientStatus
}

// RecipientStatus is one per-recipient block of a report.
type RecipientStatus struct {
	FinalRecipient    string // the address, without its "rfc822;" type
	OriginalRecipient string // likewise; "" when absent
	Action            string // lower case: failed, delayed, delivered, relayed, expanded
	Status            string // enhanced status code, e.g. "5.1.1"
	Diagnostic        string // Diagnostic-Code without its type, e.g. "550 5.1.1 no such user"
	RemoteMTA         string
}

// Failed reports whether the notification says any recipient failed.
func (n *Notification) Failed() bool {
	for _, r := range n.Recipients {
		if r.Action == ActionFailed {
			return true
		}
	}
	return false
}

// Parse reads a message and returns the delivery status report in it: the
// message/delivery-status (or message/global-delivery-status, RFC 6533)
// part of a multipart/report, found up to three multipart levels deep. Only
// that part is read as status fields, never the returned original message
// that follows it. Inputs are bounded (16 MiB read, 1 MiB status part,
// 1000 recipients); ErrNotDSN when there is no such part.
func Parse(r io.Reader) (*Notification, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(r, maxParseInput)))
	if err != nil {
		return nil, err
	}
	part, err := findStatus(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	if err != nil {
		return nil, err
	}
	return parseStatus(part)
}

// findStatus returns the body of the first delivery-status part.
func findStatus(ctype, cte string, body io.Reader, depth int) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return nil, ErrNotDSN
	}
	switch {
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		return readPart(body, cte)
	case strings.HasPrefix(mt, "multipart/") && depth < maxParseDepth && params["boundary"] != "":
		mr := multipart.NewReader(body, params["boundary"])
		for range 100 {
			p, err := mr.NextPart()
			if err != nil {
				return nil, ErrNotDSN
			}
			st, err := findStatus(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if err == nil {
				return st, nil
			}
			if !errors.Is(err, ErrNotDSN) {
				return nil, err
			}
		}
	}
	return nil, ErrNotDSN
}

func readPart(body io.Reader, cte string) ([]byte, error) {
	if strings.EqualFold(strings.TrimSpace(cte), "base64") {
		body = base64.NewDecoder(base64.StdEncoding, &lineJoiner{r: body})
	}
	data, err := io.ReadAll(io.LimitReader(body, maxStatusPart+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxStatusPart {
		return nil, errors.New("dsn: delivery status part too large")
	}
	return data, nil
}

// lineJoiner drops CR and LF so that base64 lines decode as one stream.
type lineJoiner struct{ r io.Reader }

func (l *lineJoiner) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	out := p[:0]
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return len(out), err
}

// parseStatus reads the per-message block and the per-recipient blocks.
func parseStatus(data []byte) (*Notification, error) {
	blocks := fieldBlocks(data)
	if len(blocks) == 0 {
		return nil, ErrNotDSN
	}
	n := &Notification{
		ReportingMTA:       blocks[0]["reporting-mta"],
		OriginalEnvelopeID: blocks[0]["original-envelope-id"],
	}
	for _, b := range blocks[1:] {
		if len(n.Recipients) == maxParseRecipients {
			break
		}
		if b["final-recipient"] == "" && b["action"] == "" {
			continue
		}
		n.Recipients = append(n.Recipients, RecipientStatus{
			FinalRecipient:    address(b["final-recipient"]),
			OriginalRecipient: address(b["original-recipient"]),
			Action:            strings.ToLower(strings.TrimSpace(b["action"])),
			Status:            statusCode(b["status"]),
			Diagnostic:        untyped(b["diagnostic-code"]),
			RemoteMTA:         untyped(b["remote-mta"]),
		})
	}
	return n, nil
}

// fieldBlocks splits status fields into blank-line separated blocks of
// lower-case name → unfolded value (the first of repeated names wins).
func fieldBlocks(data []byte) []map[string]string {
	var blocks []map[string]string
	var cur map[string]string
	last := ""
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			cur, last = nil, ""
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur != nil && last != "" {
				cur[last] += " " + strings.TrimSpace(string(line))
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			last = ""
			continue
		}
		if cur == nil {
			cur = make(map[string]string)
			blocks = append(blocks, cur)
		}
		last = strings.ToLower(strings.TrimSpace(string(name)))
		if _, dup := cur[last]; dup {
			last = "" // keep the first; ignore its continuation lines
			continue
		}
		cur[last] = strings.TrimSpace(string(value))
	}
	return blocks
}

// untyped drops the "rfc822;" (or "smtp;", "dns;") type of a field value.
func untyped(v string) string {
	if t, rest, ok := strings.Cut(v, ";"); ok && !strings.ContainsAny(t, " <>@") {
		v = rest
	}
	return strings.TrimSpace(v)
}

// address returns the address of a Final-Recipient or Original-Recipient
// value: its type dropped, folding whitespace removed (addresses carry none;
// long ones are folded like words), and for the RFC 6533 "utf-8" type the
// \x{HHHH} escapes decoded.
func address(v string) string {
	t, _, _ := strings.Cut(v, ";")
	a := strings.Join(strings.Fields(untyped(v)), "")
	if strings.EqualFold(strings.TrimSpace(t), "utf-8") {
		a = unescapeUnitext(a)
	}
	return a
}

// unescapeUnitext decodes the \x{HHHH} escapes of RFC 6533 embedded-unicode.
func unescapeUnitext(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, `\x{`)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		hex := ""
		if j > 3 {
			hex = s[i+3 : i+j]
		}
		r, err := strconv.ParseUint(hex, 16, 32)
		if err != nil || len(hex) > 6 || !utf8.ValidRune(rune(r)) {
			b.WriteString(s[:i+3])
			s = s[i+3:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteRune(rune(r))
		s = s[i+j+1:]
	}
}

// statusCode returns the class.subject.detail code at the start of v, ""
// if there is none.
func statusCode(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " \t("); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.ContainsAny(parts[0], "245") {
		return ""
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return ""
		}
	}
	return v
}
