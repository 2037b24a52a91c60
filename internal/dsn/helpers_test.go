package dsn

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// notice is a parsed notice: its header and its parts, decoded.
type notice struct {
	header mail.Header
	parts  []noticePart
}

type noticePart struct {
	contentType string
	header      map[string][]string
	body        []byte
}

// checkWire checks the raw form: CRLF line endings only, no line longer than
// 998 octets, 7-bit only.
func checkWire(t testing.TB, raw []byte) {
	t.Helper()
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			t.Fatalf("bare LF at offset %d", i)
		}
		if c == '\r' && (i+1 >= len(raw) || raw[i+1] != '\n') {
			t.Fatalf("bare CR at offset %d", i)
		}
		if c >= 0x80 || c == 0 {
			t.Fatalf("byte %#x at offset %d is not 7-bit text", c, i)
		}
	}
	for n, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Fatalf("line %d is %d octets long", n+1, len(line))
		}
	}
}

// parseNotice parses raw as a multipart/report message, failing the test
// on any deviation from the expected structure.
func parseNotice(t testing.TB, raw []byte) notice {
	t.Helper()
	checkWire(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("notice does not parse: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type = %q %v", mt, params)
	}
	boundary := params["boundary"]
	if boundary == "" {
		t.Fatal("no boundary")
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	n := notice{header: msg.Header}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for range 10 {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part %d: %v", len(n.parts)+1, err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("part %d: %v", len(n.parts)+1, err)
		}
		if bytes.Contains(data, []byte(boundary)) {
			t.Fatalf("boundary occurs inside part %d", len(n.parts)+1)
		}
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			data, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(data)))
			if err != nil {
				t.Fatalf("part %d: bad quoted-printable: %v", len(n.parts)+1, err)
			}
		}
		ct, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part %d Content-Type: %v", len(n.parts)+1, err)
		}
		n.parts = append(n.parts, noticePart{contentType: ct, header: p.Header, body: data})
	}
	if len(n.parts) != 3 {
		t.Fatalf("got %d parts, want 3", len(n.parts))
	}
	for i, want := range []string{"text/plain", "message/delivery-status", "text/rfc822-headers"} {
		if n.parts[i].contentType != want {
			t.Fatalf("part %d is %q, want %q", i+1, n.parts[i].contentType, want)
		}
	}
	return n
}

// statusBlocks splits a message/delivery-status body into its blocks of
// unfolded fields: the per-message block first, then one per recipient.
func statusBlocks(t testing.TB, body []byte) []map[string]string {
	t.Helper()
	var blocks []map[string]string
	for raw := range strings.SplitSeq(strings.TrimSuffix(string(body), "\r\n"), "\r\n\r\n") {
		unfolded := strings.ReplaceAll(raw, "\r\n ", " ")
		unfolded = strings.ReplaceAll(unfolded, "\r\n\t", "\t")
		block := map[string]string{}
		for line := range strings.SplitSeq(unfolded, "\r\n") {
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				t.Fatalf("not a field: %q", line)
			}
			if _, dup := block[name]; dup {
				t.Fatalf("field %s repeated in a block", name)
			}
			block[name] = strings.TrimSpace(value)
		}
		blocks = append(blocks, block)
	}
	return blocks
}
