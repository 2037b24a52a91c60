package lists

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// bodyKeep is how much of the body ReadPost keeps: the rules only look at
// the first lines of the first text part.
const bodyKeep = 64 << 10

// Post is a message offered to a list.
type Post struct {
	EnvelopeFrom string      // SMTP MAIL FROM; "" for a null sender
	Header       mail.Header // keys canonical (net/mail)
	// Body is the start of the body (ReadPost keeps the first 64 KiB),
	// enough for the rules that read the first lines.
	Body  []byte
	Size  int64 // whole message in bytes
	Rcpts int   // envelope recipients
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadPost parses a message (header and body) from r. Size is the number of
// bytes read; the body beyond 64 KiB is read and dropped.
func ReadPost(r io.Reader, envelopeFrom string, rcpts int) (*Post, error) {
	cr := &countingReader{r: r}
	m, err := mail.ReadMessage(bufio.NewReader(cr))
	if err != nil {
		return nil, fmt.Errorf("lists: read post: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(m.Body, bodyKeep))
	if err != nil {
		return nil, fmt.Errorf("lists: read post: %w", err)
	}
	if _, err := io.Copy(io.Discard, m.Body); err != nil {
		return nil, fmt.Errorf("lists: read post: %w", err)
	}
	return &Post{EnvelopeFrom: envelopeFrom, Header: m.Header, Body: body, Size: cr.n, Rcpts: rcpts}, nil
}

// MessageID is the Message-ID field without surrounding space.
func (p *Post) MessageID() string { return strings.TrimSpace(p.Header.Get("Message-Id")) }

// senderSource names where a poster address came from.
type senderSource struct {
	addr   string // domain lowercased
	source string // "from", "sender", "reply-to", "envelope"
}

// senders lists the candidate poster addresses in the order that decides
// membership: From, Sender, Reply-To, then the envelope sender.
func (p *Post) senders() []senderSource {
	var out []senderSource
	seen := map[string]bool{}
	add := func(addr, src string) {
		a, _, err := NormalizeAddress(addr)
		if err != nil || seen[addrKey(a)] {
			return
		}
		seen[addrKey(a)] = true
		out = append(out, senderSource{addr: a, source: src})
	}
	for _, f := range []struct{ header, source string }{{"From", "from"}, {"Sender", "sender"}, {"Reply-To", "reply-to"}} {
		for _, v := range p.Header[f.header] {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				continue
			}
			for _, a := range list {
				add(a.Address, f.source)
			}
		}
	}
	if p.EnvelopeFrom != "" {
		add(strings.Trim(p.EnvelopeFrom, "<>"), "envelope")
	}
	return out
}

// headerAddrs returns every address in the named fields (unparsable ones skipped).
func (p *Post) headerAddrs(names ...string) []string {
	var out []string
	for _, n := range names {
		for _, v := range p.Header[n] {
			list, err := mail.ParseAddressList(v)
			if err != nil {
				continue
			}
			for _, a := range list {
				out = append(out, a.Address)
			}
		}
	}
	return out
}

// textLines returns up to n non-blank lines, trimmed, from the start of the
// first text/plain part of the body (decoded from quoted-printable or base64).
func (p *Post) textLines(n int) []string {
	text := firstText(p.Header, p.Body, 0)
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), bodyKeep)
	for sc.Scan() && len(out) < n {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

type headerGetter interface{ Get(string) string }

// firstText finds the first text/plain part (depth-limited) and decodes it.
func firstText(h headerGetter, body []byte, depth int) []byte {
	ct := h.Get("Content-Type")
	media, params := "text/plain", map[string]string(nil)
	if ct != "" {
		var err error
		if media, params, err = mime.ParseMediaType(ct); err != nil {
			return nil
		}
	}
	switch {
	case media == "text/plain":
		return decodeCTE(h.Get("Content-Transfer-Encoding"), body)
	case strings.HasPrefix(media, "multipart/") && depth < 3 && params["boundary"] != "":
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for range 20 {
			part, err := mr.NextRawPart()
			if err != nil {
				return nil
			}
			b, err := io.ReadAll(io.LimitReader(part, bodyKeep))
			if err != nil && len(b) == 0 {
				return nil
			}
			if t := firstText(part.Header, b, depth+1); t != nil {
				return t
			}
		}
	}
	return nil
}

func decodeCTE(cte string, b []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		out, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		return out
	case "base64":
		out, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b)))
		return out
	}
	return b
}
