package listserv

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// Header and footer ("decoration") of distributed posts.
//
// The text is added so that the message stays valid MIME and its other
// parts stay byte for byte as they were:
//
//	text/plain (or no Content-Type), in a charset the text fits
//	    (us-ascii, utf-8, or any charset when the text is ASCII)  ─▶ text added to the body,
//	    decoded and re-encoded in the part's own transfer encoding
//	    (7bit becomes 8bit, us-ascii becomes utf-8 when the text needs it)
//	multipart/mixed                    ─▶ a text/plain part first (header) / last (footer)
//	anything else: multipart/alternative, multipart/signed (the signed part
//	    stays untouched), text/html, other charsets, attachments
//	                                   ─▶ wrapped: multipart/mixed of [header], the original, [footer]
//
// An unparseable Content-Type is left undecorated.

// placeholders fills in the placeholders of a header or footer template.
func (s *Server) placeholders(l *lists.List, tmpl string) string {
	if tmpl == "" {
		return ""
	}
	name := l.DisplayName
	if name == "" {
		name = l.Name
	}
	archive := ""
	if l.Settings.ArchivePolicy.Archived() && s.site() != "" {
		archive = s.listURL(l) + "archive/"
	}
	leave := lists.CompanionAddress(l.Address(), lists.AddrLeave)
	return strings.NewReplacer(
		"{list}", name,
		"{list_name}", l.Name,
		"{list_address}", l.Address(),
		"{list_url}", s.listURL(l),
		"{archive_url}", archive,
		"{unsubscribe_url}", "mailto:"+leave+"?subject=unsubscribe",
		"{unsubscribe_address}", leave,
		"{owner_address}", lists.CompanionAddress(l.Address(), lists.AddrOwner),
		"{request_address}", lists.CompanionAddress(l.Address(), lists.AddrRequest),
	).Replace(tmpl)
}

// contentFields are the fields that describe a MIME entity and move with
// it when it is wrapped.
func isContentField(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "content-")
}

func fieldValue(fields []field, name string) (string, bool) {
	for _, f := range fields {
		if f.is(name) {
			return f.value(), true
		}
	}
	return "", false
}

func newField(name, value string) field {
	return field{name: name, raw: []byte(name + ": " + value + "\r\n")}
}

// replaceField replaces the first field called name (or appends one) and
// drops later ones.
func replaceField(fields []field, name, value string) []field {
	out := make([]field, 0, len(fields)+1)
	done := false
	for _, f := range fields {
		if f.is(name) {
			if !done {
				out = append(out, newField(name, value))
				done = true
			}
			continue
		}
		out = append(out, f)
	}
	if !done {
		out = append(out, newField(name, value))
	}
	return out
}

// decorate adds top and bottom (already expanded; "" for none) to the
// message made of fields and body, as the package comment describes.
func decorate(fields []field, body []byte, top, bottom string) ([]field, []byte) {
	if top == "" && bottom == "" {
		return fields, body
	}
	ct, hasCT := fieldValue(fields, "Content-Type")
	mt, params := "text/plain", map[string]string{"charset": "us-ascii"}
	if hasCT {
		var err error
		if mt, params, err = mime.ParseMediaType(ct); err != nil {
			return fields, body
		}
	}
	switch mt {
	case "text/plain":
		if f, b, ok := decorateText(fields, body, params, top, bottom); ok {
			return f, b
		}
	case "multipart/mixed":
		if b, ok := decorateMixed(body, params["boundary"], top, bottom); ok {
			return fields, b
		}
	}
	return wrapMixed(fields, body, top, bottom)
}

func isASCIIBytes(b []byte) bool { return isASCII(string(b)) }

// withEOL ends s with a line break written as eol, and converts its own
// line breaks to eol.
func withEOL(s, eol string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return strings.ReplaceAll(s, "\n", eol)
}

// decorateText adds the text inside a text/plain body; ok is false when
// it cannot be done faithfully (charset, undecodable body).
func decorateText(fields []field, body []byte, params map[string]string, top, bottom string) ([]field, []byte, bool) {
	text := top + bottom
	charset := strings.ToLower(params["charset"])
	if charset == "" {
		charset = "us-ascii"
	}
	asciiText := isASCII(text)
	if !asciiText && charset != "us-ascii" && charset != "utf-8" && charset != "utf8" {
		return nil, nil, false
	}
	cteRaw, _ := fieldValue(fields, "Content-Transfer-Encoding")
	cte := strings.ToLower(strings.TrimSpace(cteRaw))
	var decoded []byte
	switch cte {
	case "", "7bit", "8bit", "binary":
		decoded = body
	case "quoted-printable":
		var err error
		if decoded, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body))); err != nil {
			return nil, nil, false
		}
	case "base64":
		var err error
		if decoded, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, &stripSpace{b: body})); err != nil {
			return nil, nil, false
		}
	default:
		return nil, nil, false
	}
	eol := "\r\n"
	if bytes.Contains(decoded, []byte("\n")) && !bytes.Contains(decoded, []byte("\r\n")) {
		eol = "\n"
	}
	var b bytes.Buffer
	if top != "" {
		b.WriteString(withEOL(top, eol))
	}
	b.Write(decoded)
	if bottom != "" {
		if len(decoded) > 0 && !bytes.HasSuffix(decoded, []byte("\n")) {
			b.WriteString(eol)
		}
		b.WriteString(withEOL(bottom, eol))
	}
	if !asciiText && charset == "us-ascii" {
		params["charset"] = "utf-8"
		fields = replaceField(fields, "Content-Type", mime.FormatMediaType("text/plain", params))
		if _, ok := fieldValue(fields, "MIME-Version"); !ok {
			fields = replaceField(fields, "MIME-Version", "1.0")
		}
	}
	var out bytes.Buffer
	switch cte {
	case "quoted-printable":
		w := quotedprintable.NewWriter(&out)
		w.Write(b.Bytes())
		w.Close()
		if !bytes.HasSuffix(out.Bytes(), []byte("\r\n")) {
			out.WriteString("\r\n")
		}
	case "base64":
		writeBase64(&out, b.Bytes())
	default:
		out = b
		if !asciiText && (cte == "" || cte == "7bit") {
			fields = replaceField(fields, "Content-Transfer-Encoding", "8bit")
		}
	}
	return fields, out.Bytes(), true
}

// stripSpace reads b without its white space (line breaks of base64).
type stripSpace struct{ b []byte }

func (r *stripSpace) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(r.b) > 0 {
		c := r.b[0]
		r.b = r.b[1:]
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			p[n] = c
			n++
		}
	}
	if n == 0 && len(r.b) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func writeBase64(w *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		w.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	if enc != "" {
		w.WriteString(enc + "\r\n")
	}
}

// shortHash names a MIME boundary after the content it encloses, so that
// it cannot occur in it and the same post is built the same way each time.
func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// textPart is a text/plain MIME part holding text, with its header.
func textPart(text string) string {
	cte := "7bit"
	if !isASCII(text) {
		cte = "8bit"
	}
	return "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: " + cte +
		"\r\nContent-Disposition: inline\r\n\r\n" + withEOL(text, "\r\n")
}

// decorateMixed inserts the text parts into a multipart/mixed body: the
// header before the first part, the footer after the last one.
func decorateMixed(body []byte, boundary, top, bottom string) ([]byte, bool) {
	if boundary == "" {
		return nil, false
	}
	delim := []byte("--" + boundary)
	// The first delimiter starts the body or follows a line break.
	first := -1
	if bytes.HasPrefix(body, delim) {
		first = 0
	} else if i := bytes.Index(body, append([]byte("\n"), delim...)); i >= 0 {
		first = i + 1
	}
	closeDelim := append(append([]byte("\r\n"), delim...), '-', '-')
	last := bytes.LastIndex(body, closeDelim)
	if first < 0 || last < first {
		return nil, false
	}
	var b bytes.Buffer
	b.Write(body[:first])
	if top != "" {
		b.WriteString("--" + boundary + "\r\n" + textPart(top))
	}
	b.Write(body[first:last])
	if bottom != "" {
		b.WriteString("\r\n--" + boundary + "\r\n" + strings.TrimSuffix(textPart(bottom), "\r\n"))
	}
	b.Write(body[last:])
	return b.Bytes(), true
}

// wrapMixed makes the message a multipart/mixed with the original entity
// (its Content-* fields and body, unchanged) between the text parts.
func wrapMixed(fields []field, body []byte, top, bottom string) ([]field, []byte) {
	boundary := "=_posthorn_" + shortHash(body)
	var outer, inner []field
	for _, f := range fields {
		switch {
		case isContentField(f.name):
			inner = append(inner, f)
		case f.is("MIME-Version"):
		default:
			outer = append(outer, f)
		}
	}
	outer = append(outer, newField("MIME-Version", "1.0"),
		newField("Content-Type", `multipart/mixed; boundary="`+boundary+`"`))
	if !isASCIIBytes(body) || !isASCII(top+bottom) {
		outer = append(outer, newField("Content-Transfer-Encoding", "8bit"))
	}
	var b bytes.Buffer
	b.WriteString("This is a message in MIME format.\r\n")
	if top != "" {
		b.WriteString("--" + boundary + "\r\n" + textPart(top))
	}
	b.WriteString("--" + boundary + "\r\n")
	for _, f := range inner {
		b.Write(f.raw)
	}
	b.WriteString("\r\n")
	b.Write(body)
	// This line break belongs to the delimiter: the entity keeps its bytes.
	b.WriteString("\r\n")
	if bottom != "" {
		b.WriteString("--" + boundary + "\r\n" + textPart(bottom))
	}
	b.WriteString("--" + boundary + "--\r\n")
	return outer, b.Bytes()
}
