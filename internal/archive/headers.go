package archive

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // legacy charsets in encoded words and bodies
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// maxRefs bounds how many References a post contributes to threading (the
// last ones: nearest ancestors first matter).
const maxRefs = 30

// parsed is what the archive keeps from a post's header.
type parsed struct {
	messageID string
	subject   string
	base      string // subject without reply prefixes and list tags, folded
	isReply   bool
	fromName  string
	fromAddr  string
	date      time.Time // zero when missing or unparseable
	refs      []string  // ancestors, oldest first, In-Reply-To last
	err       string    // why the header could not be read, if so
}

// parseHeader reads the header of raw. It never fails: what cannot be read
// stays empty and err says why.
func parseHeader(raw []byte) parsed {
	var p parsed
	th, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil && th.Len() == 0 {
		p.err = "header: " + err.Error()
		return p
	}
	if err != nil {
		p.err = "header: " + err.Error()
	}
	h := gomail.Header{Header: message.Header{Header: th}}
	if id, err := h.MessageID(); err == nil {
		p.messageID = id
	} else {
		p.messageID = looseID(h.Get("Message-Id"))
	}
	if s, err := h.Subject(); err == nil || s != "" {
		p.subject = cleanText(s)
	}
	p.base, p.isReply = baseSubject(p.subject)
	if addrs, err := h.AddressList("From"); err == nil && len(addrs) > 0 {
		p.fromName, p.fromAddr = cleanText(addrs[0].Name), strings.ToLower(addrs[0].Address)
	} else if v := h.Get("From"); v != "" {
		p.fromName, p.fromAddr = looseFrom(v)
	}
	if d, err := h.Date(); err == nil && !d.IsZero() {
		p.date = d
	} else if v := h.Get("Date"); v != "" {
		if d, err := mail.ParseDate(strings.TrimSpace(v)); err == nil {
			p.date = d
		}
	}
	p.refs = references(h, p.messageID)
	return p
}

// references returns the post's ancestors, oldest first, with the
// In-Reply-To parent last, without self-references or repeats (the last
// occurrence wins), at most maxRefs.
func references(h gomail.Header, self string) []string {
	refs, err := h.MsgIDList("References")
	if err != nil {
		refs = append(refs, looseIDs(h.Get("References"))...)
	}
	irt, err := h.MsgIDList("In-Reply-To")
	if err != nil {
		irt = looseIDs(h.Get("In-Reply-To"))
	}
	if len(irt) > 0 {
		refs = append(refs, irt[0])
	}
	seen := map[string]bool{}
	var out []string
	for i := len(refs) - 1; i >= 0 && len(out) < maxRefs; i-- {
		r := refs[i]
		if r == "" || r == self || seen[r] {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// looseID takes an identifier out of a malformed Message-ID field.
func looseID(v string) string {
	ids := looseIDs(v)
	if len(ids) > 0 {
		return ids[0]
	}
	return strings.Trim(strings.TrimSpace(v), "<>")
}

// looseIDs finds the <...> identifiers in a malformed field.
func looseIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		if id := strings.TrimSpace(v[i+1 : i+j]); id != "" {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
}

// looseFrom takes a name and address out of a malformed From field.
func looseFrom(v string) (name, addr string) {
	v = cleanText(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return strings.Trim(strings.TrimSpace(v[:i]), `"`), strings.ToLower(strings.TrimSpace(v[i+1 : i+j]))
		}
	}
	for _, f := range strings.Fields(v) {
		if strings.Contains(f, "@") {
			return "", strings.ToLower(strings.Trim(f, "()<>\"'"))
		}
	}
	return v, ""
}

// cleanText folds whitespace and drops control characters.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// baseSubject strips list tags ("[list]"), reply and forward markers
// ("Re:", "Fwd:", "AW:", "Re[2]:") and a trailing "(fwd)", and folds case.
// isReply says whether a reply or forward marker was found.
func baseSubject(s string) (base string, isReply bool) {
	// Reply and forward markers, lowercase, without the colon.
	replyPrefixes := [...]string{"re", "fwd", "fw", "aw", "sv", "vs", "wg", "antw", "réf", "ref", "tr", "odp"}
	s = strings.ToLower(cleanText(s))
	for range 20 { // bounded: each round strips something or stops
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "[") {
			if j := strings.IndexByte(t, ']'); j > 0 {
				s = t[j+1:]
				continue
			}
		}
		stripped := false
		for _, p := range replyPrefixes {
			if !strings.HasPrefix(t, p) {
				continue
			}
			rest := t[len(p):]
			if strings.HasPrefix(rest, "[") || strings.HasPrefix(rest, "(") {
				if j := strings.IndexAny(rest, "])"); j > 0 {
					rest = rest[j+1:]
				}
			}
			rest = strings.TrimLeft(rest, " ")
			if strings.HasPrefix(rest, ":") {
				s, stripped, isReply = rest[1:], true, true
				break
			}
		}
		if !stripped {
			s = t
			break
		}
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, "(fwd)"))
	return s, isReply
}

// contentHash is the hex SHA-256 of raw with line endings made LF and
// trailing blank space removed, so that the same post read from SMTP
// (CRLF) and from an mbox (LF) hashes the same.
func contentHash(raw []byte) string {
	h := sha256.New()
	raw = bytes.TrimRight(raw, " \t\r\n")
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			h.Write(raw)
			break
		}
		line := bytes.TrimSuffix(raw[:i], []byte{'\r'})
		h.Write(line)
		h.Write([]byte{'\n'})
		raw = raw[i+1:]
	}
	return hex.EncodeToString(h.Sum(nil))
}

// permalink is the second permanent address of a post: 16 hex
// characters (64 bits) of SHA-256 of its Message-ID; of its content hash
// when it has no Message-ID; of both for a second post reusing a
// Message-ID with different content.
func permalink(messageID, hash string, reused bool) string {
	var key string
	switch {
	case messageID == "":
		key = "content\x00" + hash
	case reused:
		key = "id\x00" + messageID + "\x00" + hash
	default:
		key = "id\x00" + messageID
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// PermalinkFor returns the permalink a post with this Message-ID (without
// angle brackets) has, so that links can be made before or without a
// lookup. Posts without Message-ID, or reusing one, have others.
func PermalinkFor(messageID string) string { return permalink(messageID, "", false) }

// DefaultSearchText is the text indexed when Options.SearchText is nil:
// the subject and the first text/plain part as it is (at most 64 KiB).
func DefaultSearchText(raw []byte) string {
	p := parseHeader(raw)
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return p.subject
	}
	defer mr.Close()
	for range 100 {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		h, ok := part.Header.(*gomail.InlineHeader)
		if !ok {
			continue
		}
		ct, _, _ := h.ContentType()
		if ct != "" && ct != "text/plain" {
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(part.Body, 64<<10))
		return p.subject + "\n" + string(body)
	}
	return p.subject
}
