package listserv

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// The MIME digest (RFC 2046 multipart/digest) is multipart/mixed of a
// text/plain part (the introduction and the table of contents), the
// multipart/digest of the posts as message/rfc822 parts (whole, with their
// attachments), and the list's footer. Both forms share the header fields,
// the introduction and the table of contents written here.

// digestName is the list's name in digest titles.
func digestName(l *lists.List) string {
	if l.DisplayName != "" {
		return l.DisplayName
	}
	return l.Name
}

// digestIntro says where to post and how to change the delivery, with "\n"
// line ends.
func (s *Server) digestIntro(l *lists.List) string {
	addr := l.Address()
	var b strings.Builder
	fmt.Fprintf(&b, "Send submissions to %s.\n", addr)
	fmt.Fprintf(&b, "To unsubscribe or change your delivery, write to %s\n(subject \"help\") or to %s.\n",
		lists.CompanionAddress(addr, lists.AddrRequest), lists.CompanionAddress(addr, lists.AddrOwner))
	if u := s.listURL(l); u != "" {
		fmt.Fprintf(&b, "List page: %s\n", u)
	}
	return b.String()
}

// digestTOC is "Today's Topics:" and a numbered line per post.
func digestTOC(entries []digestEntry) string {
	var b strings.Builder
	b.WriteString("Today's Topics:\n\n")
	for i, e := range entries {
		fmt.Fprintf(&b, "  %d. %s (%s)\n", i+1, oneLine(decodeWords(e.subject)), oneLine(decodeWords(e.sender)))
	}
	return b.String()
}

// digestHeader writes the header fields of either form, up to (without)
// the MIME fields and the blank line.
func (s *Server) digestHeader(b *bytes.Buffer, l *lists.List, d digestIssue) {
	addr := l.Address()
	name := digestName(l)
	fmt.Fprintf(b, "From: %s <%s>\r\n", mime.QEncoding.Encode("utf-8", quotePhrase(name)), lists.CompanionAddress(addr, lists.AddrRequest))
	fmt.Fprintf(b, "To: %s\r\n", addr)
	fmt.Fprintf(b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", d.title(name)))
	fmt.Fprintf(b, "Date: %s\r\n", d.date.Format(time.RFC1123Z))
	fmt.Fprintf(b, "Message-ID: %s\r\n", d.msgID)
	fmt.Fprintf(b, "List-Id: %s\r\nList-Post: <mailto:%s>\r\nPrecedence: list\r\nX-BeenThere: %s\r\n", listID(l), addr, addr)
}

// buildDigest writes the MIME digest of entries.
func (s *Server) buildDigest(l *lists.List, d digestIssue, entries []digestEntry) []byte {
	toc := s.digestIntro(l) + "\n" + digestTOC(entries)
	var inner bytes.Buffer
	innerB := "=_posthorn_digest_" + shortHash([]byte(d.msgID+"inner"))
	eightBit := false
	for _, e := range entries {
		inner.WriteString("--" + innerB + "\r\nContent-Type: message/rfc822\r\n\r\n")
		inner.Write(e.raw)
		inner.WriteString("\r\n")
		eightBit = eightBit || !isASCIIBytes(e.raw)
	}
	inner.WriteString("--" + innerB + "--\r\n")
	footer := s.placeholders(l, l.Settings.Footer)
	outerB := "=_posthorn_digest_" + shortHash([]byte(d.msgID+"outer"))
	var b bytes.Buffer
	s.digestHeader(&b, l, d)
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n", outerB)
	if eightBit || !isASCII(toc+footer) {
		b.WriteString("Content-Transfer-Encoding: 8bit\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString("--" + outerB + "\r\n" + textPart(toc))
	b.WriteString("--" + outerB + "\r\nContent-Type: multipart/digest; boundary=\"" + innerB + "\"\r\n\r\n")
	b.Write(inner.Bytes())
	if footer != "" {
		b.WriteString("--" + outerB + "\r\n" + textPart(footer))
	}
	b.WriteString("--" + outerB + "--\r\n")
	return b.Bytes()
}

func decodeWords(s string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
