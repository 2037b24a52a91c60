package mimetext

import (
	"bytes"
	"fmt"
	"html"
	"mime"
	"path"
	"strings"

	"github.com/posthorn/posthorn/internal/sanitize"
)

// walker holds the state of one walk over a message's MIME tree.
type walker struct {
	doc    *Doc
	parts  int
	pieces []piece
	limit  bool // a limit was reported

	want  int         // attachment whose data AttachmentData wants, -1 for none
	found *Attachment // that attachment, once met
	data  []byte      // its decoded content
}

// pieceKind tells how a piece of body text is shown.
type pieceKind int

const (
	plainPiece pieceKind = iota // from a text/plain (or other text) part
	htmlPiece                   // from a text/html part, not yet sanitised
	notePiece                   // a summary written by this package
)

type piece struct {
	kind pieceKind
	s    string
}

// problem records a decoding problem, up to maxProblems.
func (w *walker) problem(s string) {
	if len(w.doc.Problems) < maxProblems {
		w.doc.Problems = append(w.doc.Problems, s)
	}
}

// entity handles one MIME entity (the message itself or a part). def is
// the content type it has when it declares none.
func (w *walker) entity(h header, body []byte, depth int, def string) {
	w.parts++
	if w.parts > maxParts {
		if !w.limit {
			w.limit = true
			w.problem(fmt.Sprintf("more than %d MIME parts; the rest is not shown", maxParts))
		}
		return
	}
	mt, params := w.mediaType(h, def)
	disp, dparams := w.disposition(h)
	name := w.filename(params, dparams)
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if depth >= maxDepth {
			w.problem(fmt.Sprintf("MIME nesting deeper than %d; the rest is not shown", maxDepth))
			return
		}
		boundary := params["boundary"]
		if boundary == "" {
			w.problem(mt + " without a boundary; shown as text")
			w.textPart(h, "text/plain", params, body)
			return
		}
		w.multipart(mt, boundary, body, depth)
	case (mt == "message/rfc822" || mt == "message/global") && disp != "attachment":
		if depth >= maxDepth {
			w.problem(fmt.Sprintf("MIME nesting deeper than %d; the rest is not shown", maxDepth))
			return
		}
		inner := w.transfer(h, body)
		ih, ibody := w.splitHeader(inner, false)
		w.pieces = append(w.pieces, piece{notePiece, w.summary(ih)})
		w.entity(ih, ibody, depth+1, "text/plain")
	case isAttachment(mt, disp, name):
		data := w.transfer(h, body)
		a := Attachment{Index: len(w.doc.Attachments), Filename: name, ContentType: mt, Size: len(data)}
		w.doc.Attachments = append(w.doc.Attachments, a)
		if a.Index == w.want {
			w.found, w.data = &a, data
		}
	default:
		w.textPart(h, mt, params, body)
	}
}

// isAttachment reports whether a part that is neither multipart nor an
// inline message is an attachment rather than text to show.
func isAttachment(mt, disp, filename string) bool {
	switch {
	case disp == "attachment":
		return true
	case mt == "text/plain" || mt == "text/html":
		return false
	case strings.HasPrefix(mt, "text/"):
		return filename != ""
	}
	return true
}

// textPart decodes a text part and adds it to the body.
func (w *walker) textPart(h header, mt string, params map[string]string, body []byte) {
	data := w.transfer(h, body)
	s, prob := decodeCharset(params["charset"], data)
	if prob != "" {
		w.problem(mt + ": " + prob)
	}
	if mt == "text/html" {
		w.pieces = append(w.pieces, piece{htmlPiece, s})
		return
	}
	if strings.EqualFold(params["format"], "flowed") {
		s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
	}
	w.pieces = append(w.pieces, piece{plainPiece, s})
}

// multipart walks the parts of a multipart body. For multipart/alternative
// only one part is shown: the last text/plain one, else the last one.
func (w *walker) multipart(mt, boundary string, body []byte, depth int) {
	parts, closed := splitMultipart(body, boundary, maxParts+1)
	if !closed {
		w.problem(mt + ": closing boundary missing")
	}
	if len(parts) == 0 {
		w.problem(mt + ": no parts")
		return
	}
	def := "text/plain"
	if mt == "multipart/digest" {
		def = "message/rfc822"
	}
	type split struct {
		h    header
		body []byte
	}
	all := make([]split, len(parts))
	for i, p := range parts {
		all[i].h, all[i].body = w.splitHeader(p, false)
	}
	if mt == "multipart/alternative" {
		pick := len(all) - 1
		for i, p := range all {
			if t, _ := w.quietMediaType(p.h, def); t == "text/plain" {
				pick = i
			}
		}
		all = all[pick : pick+1]
	}
	for _, p := range all {
		w.entity(p.h, p.body, depth+1, def)
	}
}

// splitMultipart returns the parts between the boundary delimiter lines
// of body (at most limit), and whether the closing delimiter was seen.
func splitMultipart(body []byte, boundary string, limit int) ([][]byte, bool) {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1 // start of the current part, -1 in the preamble
	for pos := 0; pos < len(body); {
		end := bytes.IndexByte(body[pos:], '\n')
		next := len(body)
		if end >= 0 {
			next = pos + end + 1
		}
		line := body[pos:next]
		if bytes.HasPrefix(line, delim) {
			rest := bytes.TrimRight(line[len(delim):], " \t\r\n")
			final := string(rest) == "--"
			if final || len(rest) == 0 {
				if start >= 0 {
					parts = append(parts, trimEOL(body[start:pos]))
					if len(parts) >= limit {
						return parts, false
					}
				}
				if final {
					return parts, true
				}
				start = next
			}
		}
		pos = next
	}
	if start >= 0 {
		parts = append(parts, body[start:])
	}
	return parts, false
}

// trimEOL removes the line break that belongs to the following delimiter.
func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// mediaType returns the lower-case media type and parameters of an
// entity, def when it has none, text/plain when it cannot be parsed.
func (w *walker) mediaType(h header, def string) (string, map[string]string) {
	t, params, prob := parseParams(h.get("Content-Type"), def)
	if prob != "" {
		w.problem("Content-Type: " + prob)
	}
	return t, params
}

// quietMediaType is mediaType without recording problems.
func (w *walker) quietMediaType(h header, def string) (string, map[string]string) {
	t, params, _ := parseParams(h.get("Content-Type"), def)
	return t, params
}

// disposition returns the lower-case disposition and its parameters.
func (w *walker) disposition(h header) (string, map[string]string) {
	v := h.get("Content-Disposition")
	if v == "" {
		return "", nil
	}
	d, params, prob := parseParams(v, "")
	if prob != "" {
		w.problem("Content-Disposition: " + prob)
	}
	return d, params
}

// parseParams parses a Content-Type or Content-Disposition value with
// mime.ParseMediaType, falling back to a lenient reading of name=value
// pairs. It returns a problem description when the value was broken.
func parseParams(v, def string) (string, map[string]string, string) {
	if v == "" {
		return def, map[string]string{}, ""
	}
	t, params, err := mime.ParseMediaType(v)
	if err == nil {
		return t, params, ""
	}
	prob := fmt.Sprintf("%q: %v", v, err)
	parts := strings.Split(v, ";")
	t = strings.ToLower(strings.TrimSpace(parts[0]))
	if def != "" && (!strings.Contains(t, "/") || strings.ContainsAny(t, " \t\"")) {
		t = "text/plain"
	}
	params = map[string]string{}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, dup := params[k]; !dup {
			params[k] = strings.Trim(strings.TrimSpace(val), `"'`)
		}
	}
	return t, params, prob
}

// filename returns the decoded base name of a part's file, from the
// disposition's filename or the content type's name.
func (w *walker) filename(params, dparams map[string]string) string {
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if name == "" {
		return ""
	}
	name = w.decodeWords("filename", name)
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" || name == ".." {
		return ""
	}
	return name
}

// summary describes the header of an inline message/rfc822 part.
func (w *walker) summary(h header) string {
	var b strings.Builder
	b.WriteString("---------- Forwarded message ----------\n")
	for _, k := range []string{"From", "Date", "Subject", "To", "Cc"} {
		if v := collapse(w.text(h, k)); v != "" {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// assemble sets Text and HTML from the collected pieces.
func (w *walker) assemble() {
	hasPlain, hasHTML := false, false
	for _, p := range w.pieces {
		hasPlain = hasPlain || p.kind == plainPiece
		hasHTML = hasHTML || p.kind == htmlPiece
	}
	var text, htm []string
	for _, p := range w.pieces {
		switch {
		case p.kind == htmlPiece:
			text = append(text, sanitize.Text(p.s))
			if !hasPlain {
				htm = append(htm, sanitize.HTML(p.s))
			}
		case !hasPlain && hasHTML: // a note among HTML parts
			text = append(text, p.s)
			htm = append(htm, "<pre>"+html.EscapeString(p.s)+"</pre>")
		default:
			text = append(text, p.s)
		}
	}
	w.doc.Text = strings.ReplaceAll(strings.Join(text, "\n"), "\r\n", "\n")
	if !hasPlain && hasHTML {
		w.doc.HTML = strings.Join(htm, "\n")
	}
}
