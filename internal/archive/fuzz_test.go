package archive

import (
	"bytes"
	"testing"
)

// FuzzHeaderAndNumber feeds arbitrary messages to the header reader (which
// must never fail or panic: broken posts are archived raw) and checks that
// the export number header round-trips on any message.
func FuzzHeaderAndNumber(f *testing.F) {
	f.Add([]byte("From: a@x\nSubject: Re: [dev] hi\nReferences: <a@x> <b@x>\n\nbody\n"), int64(3))
	f.Add([]byte("Subject: =?iso-8859-1?q?R=E9?=\r\nMessage-ID: broken\r\n\r\n"), int64(0))
	f.Add([]byte("no header at all"), int64(99))
	f.Fuzz(func(t *testing.T, raw []byte, n int64) {
		p := parseHeader(raw)
		for _, r := range p.refs {
			if r == "" || (r == p.messageID && r != "") {
				t.Fatalf("bad reference %q in %q", r, p.refs)
			}
		}
		baseSubject(p.subject)
		if n < 0 {
			n = -n
		}
		if n < 0 {
			return
		}
		if len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') {
			return // a leading continuation line would fold into the number header
		}
		back, got, ok := StripNumberHeader(WithNumberHeader(raw, n))
		if !ok || got != n || !bytes.Equal(back, raw) {
			t.Fatalf("round trip of %d over %q: %q %d %v", n, raw, back, got, ok)
		}
	})
}
