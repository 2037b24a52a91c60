// Package mimetext turns a raw RFC 5322 message into what an archive page
// shows and what the search index gets.
//
// Parse never gives up on a message. It works on the whole message in
// memory and goes through these steps:
//
//  1. Split the header section from the body. Header lines are read
//     leniently: a leading mbox "From " line is skipped, a line that is
//     neither a field nor a continuation ends the header (noted as a
//     problem), and a message without any header is all body.
//  2. Decode the fields the archive needs: 8-bit (non-UTF-8) values are
//     read as windows-1252, encoded words (RFC 2047) in any charset known
//     to go-message's charset package are decoded, addresses, dates and
//     message ids are parsed strictly first and leniently after that.
//  3. Walk the MIME tree, at most maxDepth levels and maxParts parts deep.
//     multipart/alternative shows its text/plain alternative when it has
//     one, else its last (richest) one; other multiparts show every part
//     in order; message/rfc822 parts not marked as attachments are shown
//     inline after a short summary of their header; text parts that are
//     not attachments are decoded (quoted-printable, base64, charset) to
//     UTF-8; everything else is an attachment, numbered in walk order
//     from 0.
//  4. Assemble the body: when there is any text/plain part, Text is all
//     text parts joined (HTML parts outside an alternative contribute
//     their plain text) and HTML is empty; otherwise HTML is the HTML
//     parts passed through the sanitiser and Text is their plain text.
//     Line ends in Text are "\n".
//
// Everything that could not be decoded cleanly (a broken header line, an
// unknown charset or transfer encoding, invalid base64, a multipart
// without its closing boundary, limits reached) is described in
// Doc.Problems, and the best-effort result is kept.
//
// Multipart bodies and header sections are split by this package rather
// than by go-message's textproto readers: those stop at the first
// malformed header line of a part and lose the rest of the message, which
// an archive of old mail cannot afford.
package mimetext

import (
	"errors"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/sanitize"
)

// Limits on the work done for one message.
const (
	maxDepth    = 16   // nesting of multiparts and message/rfc822
	maxParts    = 500  // MIME parts visited
	maxProblems = 50   // problems recorded
	maxIDs      = 1000 // message ids kept from References
)

// Doc is the readable form of a message.
type Doc struct {
	Subject  string
	FromName string
	FromAddr string
	To, Cc   []string // "Name <addr>" or "addr"
	Date     time.Time
	// MessageID, InReplyTo and References hold message ids without the
	// angle brackets.
	MessageID  string
	InReplyTo  string
	References []string
	// Text is the body as plain UTF-8 text: the text/plain parts, or the
	// text of the HTML parts when the message has no text/plain part.
	Text string
	// HTML is the sanitised HTML body, set only when the message has no
	// text/plain part. Show HTML when it is set, Text otherwise.
	HTML        string
	Attachments []Attachment
	// Problems says what could not be decoded cleanly, for import reports.
	Problems []string
}

// Attachment describes one attachment of a message.
type Attachment struct {
	Index       int // position in Doc.Attachments, for AttachmentData
	Filename    string
	ContentType string
	Size        int // decoded size in bytes
}

// ErrNoAttachment is returned by AttachmentData for an index that the
// message does not have.
var ErrNoAttachment = errors.New("mimetext: no such attachment")

// Parse reads raw into a Doc. It returns a Doc for any input, however
// broken; the error is reserved for the future and is nil today.
func Parse(raw []byte) (*Doc, error) {
	w := &walker{doc: &Doc{}, want: -1}
	h, body := w.splitHeader(raw, true)
	w.readHeader(h)
	w.entity(h, body, 0, "text/plain")
	w.assemble()
	return w.doc, nil
}

// AttachmentData returns the decoded content of attachment index of raw,
// as listed by Parse in Doc.Attachments.
func AttachmentData(raw []byte, index int) (contentType, filename string, data []byte, err error) {
	if index < 0 {
		return "", "", nil, ErrNoAttachment
	}
	w := &walker{doc: &Doc{}, want: index}
	h, body := w.splitHeader(raw, true)
	w.entity(h, body, 0, "text/plain")
	if w.found == nil {
		return "", "", nil, ErrNoAttachment
	}
	return w.found.ContentType, w.found.Filename, w.data, nil
}

// SearchText returns the text the full-text index gets for d: subject,
// sender, recipients, body text and attachment names.
func SearchText(d *Doc) string {
	var b strings.Builder
	line := func(parts ...string) {
		for i, p := range parts {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	line(d.Subject)
	line(d.FromName, d.FromAddr)
	line(d.To...)
	line(d.Cc...)
	if d.Text != "" {
		line(d.Text)
	} else if d.HTML != "" {
		line(sanitize.Text(d.HTML))
	}
	for _, a := range d.Attachments {
		line(a.Filename)
	}
	return strings.TrimSpace(b.String())
}
