package listserv

import (
	"bytes"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/mimetext"
)

// The plain-text digest (RFC 1153) is one text/plain body:
//
//	Wikitech Digest            Tue, 19 May 2026            Volume 1, Issue 3
//
//	Send submissions to ... (the introduction)
//
//	Today's Topics:
//
//	  1. Subject (Sender)
//
//	---------------------------------------------------------------------- (70)
//
//	Date: / From: / To: / Cc: / Subject: / Message-ID:
//
//	the post's text (mimetext: text/plain parts, else the text of its
//	HTML); each attachment replaced by a one-line note
//
//	------------------------------ (30, after every post; then the footer,
//	                                followed by another 30)
//
//	End of Wikitech Digest, Vol 1, Issue 3
//	************************************** (as long as the line above)
//
// A line of a post that starts like a separator gets "- " in front of it
// (RFC 934 stuffing), so that a digest burster never splits a post. The
// body is 7bit or 8bit, or quoted-printable when a line is longer than
// SMTP allows.

const (
	plainTopRule  = "----------------------------------------------------------------------" // 70
	plainPostRule = "------------------------------"                                         // 30
	plainWidth    = 72
)

// buildPlainDigest writes the plain-text digest of entries.
func (s *Server) buildPlainDigest(l *lists.List, d digestIssue, entries []digestEntry) []byte {
	name := digestName(l)
	var t strings.Builder
	t.WriteString(spread(name+" Digest", d.date.Format("Mon, 2 Jan 2006"),
		fmt.Sprintf("Volume %d, Issue %d", d.volume, d.issue), plainWidth) + "\n\n")
	t.WriteString(s.digestIntro(l) + "\n")
	t.WriteString(digestTOC(entries) + "\n")
	t.WriteString(plainTopRule + "\n\n")
	for _, e := range entries {
		plainEntry(&t, e.raw)
		t.WriteString("\n" + plainPostRule + "\n\n")
	}
	if footer := s.placeholders(l, l.Settings.Footer); footer != "" {
		t.WriteString(stuffRules(strings.TrimRight(strings.ReplaceAll(footer, "\r\n", "\n"), "\n")) + "\n\n" + plainPostRule + "\n\n")
	}
	end := "End of " + d.title(name)
	t.WriteString(end + "\n" + strings.Repeat("*", len([]rune(end))) + "\n")

	text := strings.ReplaceAll(t.String(), "\n", "\r\n")
	cte, body := plainBody(text)
	var b bytes.Buffer
	s.digestHeader(&b, l, d)
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: %s\r\n\r\n", cte)
	b.Write(body)
	return b.Bytes()
}

// plainEntry writes one post: a few header fields, its text and a note per
// attachment, with "\n" line ends and no trailing blank line.
func plainEntry(t *strings.Builder, raw []byte) {
	doc, _ := mimetext.Parse(raw) // never fails: a best-effort Doc for any input
	field := func(name, value string) {
		if v := oneLine(value); v != "" {
			t.WriteString(name + ": " + v + "\n")
		}
	}
	if !doc.Date.IsZero() {
		field("Date", doc.Date.Format(time.RFC1123Z))
	}
	from := doc.FromAddr
	if doc.FromName != "" {
		from = doc.FromName + " <" + doc.FromAddr + ">"
	}
	field("From", from)
	field("To", strings.Join(doc.To, ", "))
	field("Cc", strings.Join(doc.Cc, ", "))
	field("Subject", doc.Subject)
	if doc.MessageID != "" {
		field("Message-ID", "<"+doc.MessageID+">")
	}
	t.WriteString("\n")
	text := strings.TrimRight(strings.ReplaceAll(doc.Text, "\r", ""), " \t\n")
	if text != "" {
		t.WriteString(stuffRules(text) + "\n")
	}
	if len(doc.Attachments) > 0 && text != "" {
		t.WriteString("\n")
	}
	for _, a := range doc.Attachments {
		name := oneLine(a.Filename)
		if name == "" {
			name = "(no name)"
		}
		fmt.Fprintf(t, "[Attachment not included in the plain digest: %s, %s, %s]\n", name, a.ContentType, byteSize(a.Size))
	}
}

// stuffRules puts "- " before the lines of text that start like a
// separator line.
func stuffRules(text string) string {
	if !strings.Contains(text, plainPostRule) {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, plainPostRule) {
			lines[i] = "- " + line
		}
	}
	return strings.Join(lines, "\n")
}

// spread writes left, mid and right on one line of width, mid centred;
// with single spaces when they do not fit.
func spread(left, mid, right string, width int) string {
	l, m, r := len([]rune(left)), len([]rune(mid)), len([]rune(right))
	gap := width - l - m - r
	if gap < 2 {
		return left + " " + mid + " " + right
	}
	return left + strings.Repeat(" ", gap/2) + mid + strings.Repeat(" ", gap-gap/2) + right
}

// byteSize is n in bytes, KB or MB for people.
func byteSize(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d bytes", n)
	case n < 1024*1024:
		return fmt.Sprintf("%d KB", (n+512)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
}

// plainBody returns the transfer encoding for text (CRLF line ends) and
// the body as sent: 7bit or 8bit, or quoted-printable when a line is longer
// than 998 octets.
func plainBody(text string) (cte string, body []byte) {
	long := false
	for line := range strings.SplitSeq(text, "\r\n") {
		if len(line) > 998 {
			long = true
			break
		}
	}
	if !long {
		if isASCII(text) {
			return "7bit", []byte(text)
		}
		return "8bit", []byte(text)
	}
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(text))
	w.Close()
	return "quoted-printable", b.Bytes()
}
