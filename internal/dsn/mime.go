package dsn

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strconv"
	"strings"
	"time"
)

// part is one body part: its header fields (each ending in CRLF) and its
// encoded body.
type part struct {
	header string
	body   []byte
}

// textPart returns the human-readable part, quoted-printable when it is
// not plain 7-bit text.
func textPart(text string) part {
	body := []byte(strings.ReplaceAll(text, "\n", "\r\n"))
	cte, enc := encodeBody(body)
	return part{
		header: "Content-Type: text/plain; charset=utf-8\r\n" +
			"Content-Description: Notification\r\n" +
			"Content-Transfer-Encoding: " + cte + "\r\n",
		body: enc,
	}
}

// rfc822HeadersPart returns the part holding the original header section.
func rfc822HeadersPart(orig []byte) part {
	cte, enc := encodeBody(orig)
	return part{
		header: "Content-Type: text/rfc822-headers\r\n" +
			"Content-Description: Undelivered message headers\r\n" +
			"Content-Transfer-Encoding: " + cte + "\r\n",
		body: enc,
	}
}

// encodeBody returns body unchanged as "7bit" when it is short-lined
// printable ASCII with CRLF line endings, and quoted-printable otherwise.
func encodeBody(body []byte) (cte string, enc []byte) {
	if is7bit(body) {
		return "7bit", body
	}
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	_, _ = w.Write(body) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	return "quoted-printable", buf.Bytes()
}

func is7bit(body []byte) bool {
	for line := range bytes.SplitSeq(body, []byte("\r\n")) {
		if len(line) > 998 {
			return false
		}
		for _, c := range line {
			if c > 0x7e || (c < ' ' && c != '\t') {
				return false
			}
		}
	}
	return true
}

// readHeaderSection reads the original message up to its first empty line
// and returns that header section with CRLF line endings, at most max bytes
// of whole lines, and whether it had to be cut short. Stray CRs inside a
// line become spaces. A nil reader gives an empty section.
func readHeaderSection(r io.Reader, max int) (hdr []byte, truncated bool, err error) {
	if r == nil {
		return nil, false, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, false, err
	}
	more := len(data) > max
	var out bytes.Buffer
	for len(data) > 0 {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		if !found && more {
			return out.Bytes(), true, nil // a line cut by the read limit
		}
		data = rest
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return out.Bytes(), false, nil
		}
		if out.Len()+len(line)+2 > max {
			return out.Bytes(), true, nil
		}
		out.Write(bytes.ReplaceAll(line, []byte("\r"), []byte(" ")))
		out.WriteString("\r\n")
	}
	return out.Bytes(), more, nil
}

// assemble writes the notice's header and its multipart/report body.
func assemble(r Report, now time.Time, k kind, parts []part) ([]byte, error) {
	boundary, err := pickBoundary(parts)
	if err != nil {
		return nil, err
	}
	msgID := r.MessageID
	if msgID == "" {
		msgID = fmt.Sprintf("<%s.%s.%d@%s>", atomize(r.QueueID), k.idTag(), now.Unix(), r.ReportingMTA)
	}
	var b bytes.Buffer
	b.WriteString(`From: "Mail Delivery System" <MAILER-DAEMON@` + r.ReportingMTA + ">\r\n")
	b.WriteString(toField(r.Sender))
	b.WriteString("Subject: " + k.subject() + "\r\n")
	b.WriteString("Date: " + formatDate(now) + "\r\n")
	b.WriteString(fold("Message-ID:", msgID))
	b.WriteString("Auto-Submitted: auto-replied\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/report; report-type=delivery-status;\r\n")
	b.WriteString("\tboundary=\"" + boundary + "\"\r\n")
	b.WriteString("\r\n")
	b.WriteString("This is a MIME-encapsulated delivery status notification.\r\n")
	for _, p := range parts {
		b.WriteString("\r\n--" + boundary + "\r\n")
		b.WriteString(p.header)
		b.WriteString("\r\n")
		b.Write(p.body)
		if len(p.body) > 0 && !bytes.HasSuffix(p.body, []byte("\r\n")) {
			b.WriteString("\r\n")
		}
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

// toField addresses the notice to the envelope sender. A sender that is not
// printable ASCII cannot appear raw in a 7-bit header; it is then written as
// the encoded display name of an empty group, for people to read. Base64
// words, because '@' and '.' may not appear in a Q word within a phrase.
func toField(sender string) string {
	if isASCII(sender) {
		return fold("To:", "<"+sender+">")
	}
	return fold("To:", mime.BEncoding.Encode("utf-8", sender)+":;")
}

// atomize keeps the characters of s that may appear in a Message-ID's left
// part, so that a generated id is always well-formed.
func atomize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.", c) >= 0 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 || strings.HasPrefix(b.String(), ".") || strings.HasSuffix(b.String(), ".") {
		return "dsn" + strings.Trim(b.String(), ".")
	}
	return b.String()
}

// pickBoundary derives a boundary from the content and checks that it does
// not occur in it. The "=_" prefix cannot occur in quoted-printable text.
func pickBoundary(parts []part) (string, error) {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p.header))
		h.Write(p.body)
	}
	seed := h.Sum(nil)
	for i := range 64 {
		sum := sha256.Sum256(append(seed, strconv.Itoa(i)...))
		b := "=_posthorn_" + hex.EncodeToString(sum[:12])
		if !occurs(parts, b) {
			return b, nil
		}
	}
	// With hash-derived candidates this does not happen in practice.
	return "", errors.New("dsn: no usable MIME boundary")
}

func occurs(parts []part, boundary string) bool {
	for _, p := range parts {
		if strings.Contains(p.header, boundary) || bytes.Contains(p.body, []byte(boundary)) {
			return true
		}
	}
	return false
}
