package mimetext

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// transfer undoes an entity's Content-Transfer-Encoding, leniently. An
// unknown encoding leaves the body as it is.
func (w *walker) transfer(h header, body []byte) []byte {
	enc := strings.ToLower(strings.Trim(h.get("Content-Transfer-Encoding"), ` "`))
	switch enc {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return body
	case "quoted-printable":
		out, clean := decodeQP(body)
		if !clean {
			w.problem("quoted-printable: invalid escapes kept as they are")
		}
		return out
	case "base64":
		out, clean := decodeBase64(body)
		if !clean {
			w.problem("base64: invalid characters skipped")
		}
		return out
	}
	w.problem(fmt.Sprintf("unknown Content-Transfer-Encoding %q; shown undecoded", enc))
	return body
}

// decodeQP decodes quoted-printable. Soft line breaks ("=" at the end of a
// line, maybe followed by white space) are removed; an "=" not followed by
// two hex digits is kept literally and makes clean false.
func decodeQP(in []byte) ([]byte, bool) {
	out := make([]byte, 0, len(in))
	clean := true
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		if i+2 < len(in) && isHex(in[i+1]) && isHex(in[i+2]) {
			out = append(out, unhex(in[i+1])<<4|unhex(in[i+2]))
			i += 2
			continue
		}
		// Soft line break: "=", optional white space, line end (or end).
		j := i + 1
		for j < len(in) && (in[j] == ' ' || in[j] == '\t') {
			j++
		}
		switch {
		case j == len(in):
			i = j - 1
			continue
		case in[j] == '\n':
			i = j
			continue
		case in[j] == '\r' && j+1 < len(in) && in[j+1] == '\n':
			i = j + 1
			continue
		}
		clean = false
		out = append(out, c)
	}
	return out, clean
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// decodeBase64 decodes base64, skipping white space and padding; other
// characters outside the alphabet are skipped too and make clean false.
func decodeBase64(in []byte) ([]byte, bool) {
	clean := true
	buf := make([]byte, 0, len(in))
	for _, c := range in {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
			buf = append(buf, c)
		case c == '=', c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			clean = false
		}
	}
	if len(buf)%4 == 1 {
		buf = buf[:len(buf)-1]
		clean = false
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(buf)))
	n, err := base64.RawStdEncoding.Decode(out, buf)
	if err != nil {
		clean = false
	}
	return out[:n], clean
}

// decodeCharset converts data in charset cs to valid UTF-8. It returns a
// problem description when the result is a guess: an unknown charset, or
// bytes invalid in the declared one. Undeclared or ASCII-declared 8-bit
// text that is not UTF-8 is read as windows-1252.
func decodeCharset(cs string, data []byte) (string, string) {
	cs = strings.ToLower(strings.Trim(cs, ` "'`))
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8":
		if utf8.Valid(data) {
			return string(data), ""
		}
		if strings.HasPrefix(cs, "utf") || strings.HasPrefix(cs, "unicode") {
			return strings.ToValidUTF8(string(data), "\uFFFD"), "invalid UTF-8 replaced"
		}
		return windows1252(data), fmt.Sprintf("8-bit text in charset %q read as windows-1252", cs)
	}
	r, err := charset.Reader(cs, bytes.NewReader(data))
	if err != nil {
		if utf8.Valid(data) {
			return string(data), fmt.Sprintf("unknown charset %q; the text is valid UTF-8 and read as such", cs)
		}
		return windows1252(data), fmt.Sprintf("unknown charset %q; read as windows-1252", cs)
	}
	out, err := io.ReadAll(r)
	s := strings.ToValidUTF8(string(out), "\uFFFD")
	if err != nil {
		return s, fmt.Sprintf("charset %q: %v", cs, err)
	}
	return s, ""
}

// windows1252 decodes data as windows-1252 (a superset of the printable
// part of iso-8859-1), which maps every byte.
func windows1252(data []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(data)
	if err != nil {
		return strings.ToValidUTF8(string(data), "\uFFFD")
	}
	return string(out)
}

// unflow joins the soft-broken lines of format=flowed text (RFC 3676): a
// line ending in a space continues on the next line of the same quote
// depth. Space-stuffing is removed; with delsp the trailing space goes too.
func unflow(s string, delsp bool) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	prevFlowed, prevDepth := false, 0
	for _, l := range lines {
		eol := ""
		if strings.HasSuffix(l, "\r\n") {
			eol, l = "\r\n", l[:len(l)-2]
		} else if strings.HasSuffix(l, "\n") {
			eol, l = "\n", l[:len(l)-1]
		}
		depth := len(l) - len(strings.TrimLeft(l, ">"))
		content := l[depth:]
		content = strings.TrimPrefix(content, " ")
		switch {
		case prevFlowed && depth == prevDepth:
			// continuation: the quote markers are not repeated
		case prevFlowed:
			b.WriteString("\n") // a flowed line followed by another depth
			fallthrough
		case depth > 0:
			if depth > 0 {
				b.WriteString(strings.Repeat(">", depth) + " ")
			}
		}
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		b.WriteString(content)
		if !flowed {
			b.WriteString(eol)
		}
		prevFlowed, prevDepth = flowed, depth
	}
	return b.String()
}
