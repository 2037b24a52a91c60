package listserv

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// build joins a header and body given with LF line ends into a CRLF message
// and splits it as the server does.
func build(t *testing.T, header, body string) ([]field, []byte) {
	t.Helper()
	raw := strings.ReplaceAll(header+"\n"+body, "\n", "\r\n")
	fields, b := splitHeader([]byte(raw))
	return fields, b
}

func assemble(fields []field, body []byte) []byte {
	var b bytes.Buffer
	for _, f := range fields {
		b.Write(f.raw)
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// parts parses a multipart message and returns its parts' headers and
// decoded bodies.
func parts(t *testing.T, raw []byte) (string, []*multipart.Part, []string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	var ps []*multipart.Part
	var bodies []string
	for range 20 {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part: %v\n%s", err, raw)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
		bodies = append(bodies, string(b))
	}
	return mt, ps, bodies
}

func TestDecorateTextPlain(t *testing.T) {
	t.Parallel()
	const body = "Hello all,\nthe deploy is at 20:00.\n"
	cases := []struct {
		name, header, body, footer string
		wantCT, wantCTE            string
		decode                     func(string) string
	}{
		{name: "no MIME, ASCII footer", header: "From: a@example.org\nSubject: x\n", body: body,
			footer: "-- \nwikitech-l", wantCT: "", wantCTE: ""},
		{name: "no MIME, UTF-8 footer", header: "From: a@example.org\n", body: body,
			footer: "-- \nListe für alle", wantCT: "text/plain; charset=utf-8", wantCTE: "8bit"},
		{name: "utf-8 8bit", header: "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8; format=flowed\nContent-Transfer-Encoding: 8bit\n",
			body: "Grüße\n", footer: "-- \nListe für alle", wantCT: "text/plain; charset=utf-8; format=flowed", wantCTE: "8bit"},
		{name: "quoted-printable", header: "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n",
			body: "Gr=C3=BC=C3=9Fe, a long line that was soft-broken here =\nand goes on\n", footer: "-- \nListe für alle",
			wantCT: "text/plain; charset=UTF-8", wantCTE: "quoted-printable",
			decode: func(s string) string {
				b, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(s)))
				return string(b)
			}},
		{name: "base64", header: "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
			body: base64.StdEncoding.EncodeToString([]byte("Grüße\r\nvon Ann\r\n")) + "\n", footer: "-- \nListe für alle",
			wantCT: "text/plain; charset=utf-8", wantCTE: "base64",
			decode: func(s string) string {
				b, _ := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(s))
				return string(b)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fields, b := build(t, c.header, c.body)
			nf, nb := decorate(fields, b, "Top text", c.footer)
			m, err := mail.ReadMessage(bytes.NewReader(assemble(nf, nb)))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Header.Get("Content-Type"); got != c.wantCT && !(c.wantCT == "" && got == "") {
				t.Errorf("Content-Type %q, want %q", got, c.wantCT)
			}
			if got := m.Header.Get("Content-Transfer-Encoding"); got != c.wantCTE {
				t.Errorf("Content-Transfer-Encoding %q, want %q", got, c.wantCTE)
			}
			if len(m.Header["Content-Type"]) > 1 || len(m.Header["Content-Transfer-Encoding"]) > 1 {
				t.Errorf("duplicated fields: %v", m.Header)
			}
			raw, _ := io.ReadAll(m.Body)
			text := string(raw)
			orig := string(b)
			if c.decode != nil {
				text, orig = c.decode(text), c.decode(orig)
			}
			want := "Top text\r\n" + orig + strings.ReplaceAll(c.footer, "\n", "\r\n") + "\r\n"
			if text != want {
				t.Errorf("decoded body\n%q\nwant\n%q", text, want)
			}
		})
	}
}

func TestDecorateMultipart(t *testing.T) {
	t.Parallel()
	mixed := "--b1\nContent-Type: text/plain\n\nhello\n--b1\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n--b1--\n"
	alt := "--b2\nContent-Type: text/plain; charset=utf-8\n\nhello\n--b2\nContent-Type: text/html; charset=utf-8\n\n<p>hello</p>\n--b2--\n"
	signed := "--b3\nContent-Type: text/plain; charset=us-ascii\n\nsigned text\n--b3\nContent-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n--b3--\n"
	cases := []struct {
		name, ct, body string
		wrapped        bool
		origParts      int
	}{
		{"mixed", `multipart/mixed; boundary="b1"`, mixed, false, 2},
		{"alternative", `multipart/alternative; boundary="b2"`, alt, true, 1},
		{"signed", `multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="b3"`, signed, true, 1},
		{"html", `text/html; charset=utf-8`, "<p>hello</p>\n", true, 1},
		{"latin-1 text, UTF-8 footer", `text/plain; charset=iso-8859-1`, "Gr\xfc\xdfe\n", true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fields, b := build(t, "From: a@example.org\nSubject: s\nMIME-Version: 1.0\nContent-Type: "+c.ct+"\n", c.body)
			nf, nb := decorate(fields, b, "Header für alle", "Footer für alle")
			raw := assemble(nf, nb)
			mt, ps, bodies := parts(t, raw)
			if mt != "multipart/mixed" || len(ps) != c.origParts+2 {
				t.Fatalf("%s with %d parts, want multipart/mixed with %d:\n%s", mt, len(ps), c.origParts+2, raw)
			}
			first, last := ps[0], ps[len(ps)-1]
			if !strings.HasPrefix(first.Header.Get("Content-Type"), "text/plain") || !strings.Contains(bodies[0], "Header für alle") {
				t.Errorf("first part %v %q", first.Header, bodies[0])
			}
			if !strings.HasPrefix(last.Header.Get("Content-Type"), "text/plain") || !strings.Contains(bodies[len(ps)-1], "Footer für alle") {
				t.Errorf("last part %v %q", last.Header, bodies[len(ps)-1])
			}
			if !c.wrapped {
				return
			}
			// The original entity is the middle part, its body byte for byte.
			if got := ps[1].Header.Get("Content-Type"); got != c.ct {
				t.Errorf("wrapped part Content-Type %q, want %q", got, c.ct)
			}
			if bodies[1] != string(b) {
				t.Errorf("wrapped body changed:\n%q\nwant\n%q", bodies[1], b)
			}
		})
	}
}

func TestDecorateLeavesUnparseableAlone(t *testing.T) {
	t.Parallel()
	fields, b := build(t, "Content-Type: text/plain; charset=\"unterminated\n", "hello\n")
	nf, nb := decorate(fields, b, "", "footer")
	if !bytes.Equal(assemble(nf, nb), assemble(fields, b)) {
		t.Fatal("changed a message with a broken Content-Type")
	}
}
