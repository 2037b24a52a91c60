package mimetext

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// crlf turns the LF line ends of a test message into CRLF.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

func parse(t *testing.T, raw []byte) *Doc {
	t.Helper()
	d, err := Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

func hasProblem(d *Doc, sub string) bool {
	for _, p := range d.Problems {
		if strings.Contains(p, sub) {
			return true
		}
	}
	return false
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	d := parse(t, crlf(`From: "Doe, Jane" <jane@example.org>
To: bob@example.org, =?UTF-8?Q?J=C3=BCrgen?= <j@example.de>
Cc: Carol <carol@example.org>
Subject: =?UTF-8?B?SGVsbG8g8J+Ruw==?= and
 =?iso-8859-1?q?caf=E9?=
Date: Tue, 5 Mar 2024 10:11:12 +0100 (CET)
Message-ID: <abc@example.org>
In-Reply-To: <parent@example.org> (Jane's message of Monday)
References: <root@example.org>
	<parent@example.org>

Body line.
`))
	if d.Subject != "Hello 👻 and café" {
		t.Errorf("Subject %q", d.Subject)
	}
	if d.FromName != "Doe, Jane" || d.FromAddr != "jane@example.org" {
		t.Errorf("From %q %q", d.FromName, d.FromAddr)
	}
	if !slices.Equal(d.To, []string{"bob@example.org", "Jürgen <j@example.de>"}) || !slices.Equal(d.Cc, []string{"Carol <carol@example.org>"}) {
		t.Errorf("To %q Cc %q", d.To, d.Cc)
	}
	if !d.Date.Equal(time.Date(2024, 3, 5, 9, 11, 12, 0, time.UTC)) {
		t.Errorf("Date %v", d.Date)
	}
	if d.MessageID != "abc@example.org" || d.InReplyTo != "parent@example.org" ||
		!slices.Equal(d.References, []string{"root@example.org", "parent@example.org"}) {
		t.Errorf("ids %q %q %q", d.MessageID, d.InReplyTo, d.References)
	}
	if d.Text != "Body line.\n" || d.HTML != "" || len(d.Problems) != 0 {
		t.Errorf("Text %q HTML %q problems %q", d.Text, d.HTML, d.Problems)
	}
}

func TestLenientHeaders(t *testing.T) {
	t.Parallel()
	d := parse(t, []byte("From nobody Mon Jan  1 00:00:00 2024\n"+
		"From: J\xf6rg M\xfcller <jm@example.de>\n"+
		"Subject: Gr\xfc\xdfe\n"+
		"To: John Q. Public <jqp@example.org>, undisclosed-recipients:;\n"+
		"Date: 5 Mar 2024 10:11:12\n"+
		"Message-ID: no-brackets@example.org\n"+
		"this is not a header\n"+
		"Real: body\n"))
	if d.Subject != "Grüße" || d.FromName != "Jörg Müller" || d.FromAddr != "jm@example.de" {
		t.Errorf("latin-1 header: subject %q from %q %q", d.Subject, d.FromName, d.FromAddr)
	}
	if !hasProblem(d, "8-bit header") || !hasProblem(d, "not a header field") {
		t.Errorf("problems %q", d.Problems)
	}
	if len(d.To) == 0 || !strings.Contains(d.To[0], "jqp@example.org") {
		t.Errorf("To %q", d.To)
	}
	if d.Date.IsZero() || d.MessageID != "no-brackets@example.org" {
		t.Errorf("date %v id %q", d.Date, d.MessageID)
	}
	if d.Text != "this is not a header\nReal: body\n" {
		t.Errorf("Text %q", d.Text)
	}
}

func TestNoHeaderAndEmpty(t *testing.T) {
	t.Parallel()
	d := parse(t, []byte("just some text\nwithout header\n"))
	if d.Text != "just some text\nwithout header\n" || !hasProblem(d, "no header") {
		t.Errorf("Text %q problems %q", d.Text, d.Problems)
	}
	d = parse(t, nil)
	if d.Text != "" || d.Subject != "" {
		t.Errorf("empty: %+v", d)
	}
	d = parse(t, []byte("Subject: only a header"))
	if d.Subject != "only a header" || d.Text != "" {
		t.Errorf("header only: %+v", d)
	}
}

func TestCharsets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ct, cte, body, want, problem string
	}{
		{"iso-8859-1 qp", "text/plain; charset=iso-8859-1", "quoted-printable", "caf=E9 =\r\nsoft", "café soft", ""},
		{"windows-1252", "text/plain; charset=windows-1252", "8bit", "price \x80 5", "price € 5", ""},
		{"koi8-r", "text/plain; charset=koi8-r", "8bit", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет", ""},
		{"iso-2022-jp", "text/plain; charset=ISO-2022-JP", "7bit", "\x1b$B$3$s$K$A$O\x1b(B", "こんにちは", ""},
		{"gb2312 base64", `text/plain; charset="gb2312"`, "base64", "xOO6ww==", "你好", ""},
		{"utf-8 base64 with junk", "text/plain; charset=utf-8", "Base64", "aGVs\r\nbG8*", "hello", "base64"},
		{"missing content type 8-bit", "", "", "na\xefve", "naïve", "windows-1252"},
		{"unknown charset", "text/plain; charset=x-klingon", "", "abc", "abc", "unknown charset"},
		{"invalid utf-8", "text/plain; charset=utf-8", "", "a\xffb", "a\uFFFDb", "invalid UTF-8"},
		{"bad qp", "text/plain", "quoted-printable", "a=zz=3Db", "a=zz=b", "quoted-printable"},
		{"unknown encoding", "text/plain", "x-uuencode", "raw", "raw", "Content-Transfer-Encoding"},
		{"broken content type", "text/plain; charset=iso-8859-1; name=a b", "", "\xe9", "é", "Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := "Subject: x\r\n"
			if tt.ct != "" {
				raw += "Content-Type: " + tt.ct + "\r\n"
			}
			if tt.cte != "" {
				raw += "Content-Transfer-Encoding: " + tt.cte + "\r\n"
			}
			d := parse(t, []byte(raw+"\r\n"+tt.body))
			if d.Text != tt.want {
				t.Errorf("Text %q, want %q", d.Text, tt.want)
			}
			if tt.problem == "" && len(d.Problems) > 0 || tt.problem != "" && !hasProblem(d, tt.problem) {
				t.Errorf("problems %q, want one with %q", d.Problems, tt.problem)
			}
		})
	}
}

const alternative = `From: a@example.org
Subject: alt
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

preamble
--b1
Content-Type: text/html; charset=utf-8

<p>HTML version</p>
--b1
Content-Type: text/plain; charset=utf-8

Plain version
--b1--
epilogue
`

func TestAlternative(t *testing.T) {
	t.Parallel()
	d := parse(t, crlf(alternative))
	if d.Text != "Plain version" || d.HTML != "" || len(d.Problems) != 0 {
		t.Errorf("Text %q HTML %q problems %q", d.Text, d.HTML, d.Problems)
	}
}

func TestHTMLOnly(t *testing.T) {
	t.Parallel()
	d := parse(t, crlf(`Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<p onclick=3D"x()">Caf=E9 <script>alert(1)</script><a href=3D"javascript:x">link</a></p>
`))
	if d.HTML != `<p>Café <a rel="nofollow noopener noreferrer">link</a></p>`+"\n" {
		t.Errorf("HTML %q", d.HTML)
	}
	if d.Text != "Café link" {
		t.Errorf("Text %q", d.Text)
	}
	if s := SearchText(d); !strings.Contains(s, "Café link") || strings.Contains(s, "alert") {
		t.Errorf("SearchText %q", s)
	}
}

const nested = `From: Ann <ann@example.org>
Subject: report
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=us-ascii

See the attached report.
--inner
Content-Type: multipart/related; boundary=rel

--rel
Content-Type: text/html

<p>See <img src="cid:logo"></p>
--rel
Content-Type: image/png
Content-ID: <logo>

PNG
--rel--
--inner--
--outer
Content-Type: application/pdf; name="=?UTF-8?Q?R=C3=A9sum=C3=A9.pdf?="
Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer
Content-Type: text/x-diff; name=fix.patch
Content-Disposition: inline; filename="../../etc/fix.patch"

--- a
+++ b
--outer
Content-Type: message/rfc822

From: Bob <bob@example.org>
Subject: =?UTF-8?Q?forwarded_=E2=9C=93?=
Date: Mon, 4 Mar 2024 09:00:00 +0000
Content-Type: multipart/mixed; boundary=fw

--fw
Content-Type: text/plain

Inner text.
--fw
Content-Type: application/octet-stream
Content-Disposition: attachment; filename=data.bin

0123
--fw--
--outer--
`

func TestNested(t *testing.T) {
	t.Parallel()
	raw := crlf(nested)
	d := parse(t, raw)
	if len(d.Problems) != 0 {
		t.Errorf("problems %q", d.Problems)
	}
	for _, want := range []string{"See the attached report.", "Subject: forwarded ✓", "From: Bob <bob@example.org>", "Inner text."} {
		if !strings.Contains(d.Text, want) {
			t.Errorf("Text %q lacks %q", d.Text, want)
		}
	}
	if d.HTML != "" {
		t.Errorf("HTML %q", d.HTML)
	}
	want := []Attachment{
		{0, "résumé final.pdf", "application/pdf", 9},
		{1, "fix.patch", "text/x-diff", 12},
		{2, "data.bin", "application/octet-stream", 4},
	}
	if !slices.Equal(d.Attachments, want) {
		t.Errorf("attachments %+v, want %+v", d.Attachments, want)
	}
	ct, name, data, err := AttachmentData(raw, 0)
	if err != nil || ct != "application/pdf" || name != "résumé final.pdf" || string(data) != "%PDF-1.4\n" {
		t.Errorf("AttachmentData 0 = %q %q %q %v", ct, name, data, err)
	}
	if _, _, data, err := AttachmentData(raw, 2); err != nil || string(data) != "0123" {
		t.Errorf("AttachmentData 2 = %q %v", data, err)
	}
	for _, i := range []int{-1, 3} {
		if _, _, _, err := AttachmentData(raw, i); !errors.Is(err, ErrNoAttachment) {
			t.Errorf("AttachmentData %d: %v", i, err)
		}
	}
	s := SearchText(d)
	for _, want := range []string{"report", "Ann ann@example.org", "Inner text.", "résumé final.pdf"} {
		if !strings.Contains(s, want) {
			t.Errorf("SearchText %q lacks %q", s, want)
		}
	}
}

func TestBrokenMultipart(t *testing.T) {
	t.Parallel()
	d := parse(t, []byte("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nfirst\n--x\n\nno header part\n--x\nGarbage line\nmore\n"))
	if !hasProblem(d, "closing boundary") {
		t.Errorf("problems %q", d.Problems)
	}
	for _, want := range []string{"first", "no header part", "Garbage line\nmore"} {
		if !strings.Contains(d.Text, want) {
			t.Errorf("Text %q lacks %q", d.Text, want)
		}
	}
	d = parse(t, []byte("Content-Type: multipart/mixed\n\nno boundary\n"))
	if d.Text != "no boundary\n" || !hasProblem(d, "without a boundary") {
		t.Errorf("no boundary: %q %q", d.Text, d.Problems)
	}
}

func TestDigestAndFlowed(t *testing.T) {
	t.Parallel()
	d := parse(t, []byte("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nfirst post\n--d\n\nSubject: two\n\nsecond post\n--d--\n"))
	for _, want := range []string{"Subject: one", "first post", "Subject: two", "second post"} {
		if !strings.Contains(d.Text, want) {
			t.Errorf("digest Text %q lacks %q", d.Text, want)
		}
	}
	d = parse(t, []byte("Content-Type: text/plain; format=flowed\n\nThis is \nflowed.\n> quoted \n> more\n-- \nsig\n"))
	if d.Text != "This is flowed.\n> quoted more\n-- \nsig\n" {
		t.Errorf("flowed Text %q", d.Text)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := 0; i < 40; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + string(rune('a'+i%26)) + strings.Repeat("x", i) + "\n\n--b" + string(rune('a'+i%26)) + strings.Repeat("x", i) + "\n")
	}
	b.WriteString("\ndeep\n")
	d := parse(t, []byte(b.String()))
	if !hasProblem(d, "nesting") {
		t.Errorf("deep: problems %q", d.Problems)
	}
	b.Reset()
	b.WriteString("Content-Type: multipart/mixed; boundary=p\n\n")
	for i := 0; i < 2*maxParts; i++ {
		b.WriteString("--p\nContent-Type: application/octet-stream\n\nx\n")
	}
	d = parse(t, []byte(b.String()))
	if !hasProblem(d, "MIME parts") || len(d.Attachments) >= maxParts {
		t.Errorf("many parts: %d attachments, problems %q", len(d.Attachments), d.Problems)
	}
}

func TestDecoders(t *testing.T) {
	t.Parallel()
	if out, clean := decodeQP([]byte("a=\nb=  \r\nc=41=4a=\n")); string(out) != "abcAJ" || !clean {
		t.Errorf("decodeQP = %q %v", out, clean)
	}
	if out, clean := decodeBase64([]byte("aGVsbG8=\n")); string(out) != "hello" || !clean {
		t.Errorf("decodeBase64 = %q %v", out, clean)
	}
	if parts, closed := splitMultipart([]byte("--a\nx\n--ab\n--a  \ny\n--a--\n"), "a", 10); len(parts) != 2 || string(parts[0]) != "x\n--ab" || !closed {
		t.Errorf("splitMultipart = %q %v", parts, closed)
	}
}
