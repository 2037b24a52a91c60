package sendmail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/posthorn/posthorn/internal/smtperr"
)

// read runs ReadMessage and reads the whole body.
func read(t *testing.T, input string, opts Options, maxSize int64) (*Message, string, error) {
	t.Helper()
	m, err := ReadMessage(strings.NewReader(input), opts, "www-data@app1.example.org", maxSize)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(m.Body)
	return m, string(body), err
}

func mustRead(t *testing.T, input string, opts Options) (*Message, string) {
	t.Helper()
	m, body, err := read(t, input, opts, 0)
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	return m, body
}

func TestExtractRecipients(t *testing.T) {
	t.Parallel()
	input := "From: App <app@example.org>\n" +
		"To: Alice <alice@example.org>, bob@example.org\n" +
		"Cc: \"Carol, C.\" <carol@example.org>,\n" +
		"  Team: dave@example.org, erin@example.org;\n" +
		"Bcc: secret@example.org,\n" +
		"\tsecret2@example.org\n" +
		"Subject: hi\n" +
		"\n" +
		"Bcc: this is body text\n"
	m, body := mustRead(t, input, Options{ExtractRcpts: true, Rcpts: []string{"extra@example.org", "ALICE@example.org"}})
	want := []string{"extra@example.org", "ALICE@example.org", "bob@example.org", "carol@example.org",
		"dave@example.org", "erin@example.org", "secret@example.org", "secret2@example.org"}
	if !reflect.DeepEqual(m.Rcpts, want) {
		t.Errorf("Rcpts = %q\nwant    %q", m.Rcpts, want)
	}
	wantHeader := "From: App <app@example.org>\r\n" +
		"To: Alice <alice@example.org>, bob@example.org\r\n" +
		"Cc: \"Carol, C.\" <carol@example.org>,\r\n" +
		"  Team: dave@example.org, erin@example.org;\r\n" +
		"Subject: hi\r\n"
	if string(m.Header) != wantHeader {
		t.Errorf("Header = %q\nwant     %q", m.Header, wantHeader)
	}
	if body != "Bcc: this is body text\r\n" {
		t.Errorf("body = %q", body)
	}
	if m.From != "www-data@app1.example.org" {
		t.Errorf("From = %q, want the default", m.From)
	}
}

func TestExtractRecipientsForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		want   []string
	}{
		{"cron's bare user", "To: root\n", []string{"root"}},
		{"bare users and an address", "To: root, admin@example.org\n", []string{"root", "admin@example.org"}},
		{"empty group", "To: undisclosed-recipients:;\nBcc: hidden@example.org\n", []string{"hidden@example.org"}},
		{"encoded name in unknown charset", "To: =?x-unknown?q?J=F6rg?= <joerg@example.org>\n", []string{"joerg@example.org"}},
		{"UTF-8 name", "To: Jörg <joerg@example.org>\n", []string{"joerg@example.org"}},
		{"Latin-1 name falls back to the angle address", "To: J\xf6rg <joerg@example.org>\n", []string{"joerg@example.org"}},
		{"quoted local part", "To: \"john smith\"@example.org\n", []string{`"john smith"@example.org`}},
		{"comment", "To: alice@example.org (Alice)\n", []string{"alice@example.org"}},
		{"empty To", "To:\nCc: c@example.org\n", []string{"c@example.org"}},
		{"case-insensitive names", "TO: a@example.org\ncc: b@example.org\n", []string{"a@example.org", "b@example.org"}},
		{"Resent- fields win", "To: old@example.org\nResent-To: new@example.org\nResent-Bcc: hidden@example.org\n",
			[]string{"new@example.org", "hidden@example.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, _ := mustRead(t, tt.header+"\nbody\n", Options{ExtractRcpts: true})
			if !reflect.DeepEqual(m.Rcpts, tt.want) {
				t.Errorf("Rcpts = %q, want %q", m.Rcpts, tt.want)
			}
			if bytes.Contains(bytes.ToLower(m.Header), []byte("bcc:")) {
				t.Errorf("Bcc left in header: %q", m.Header)
			}
		})
	}
}

func TestExtractRecipientsErrors(t *testing.T) {
	t.Parallel()
	_, _, err := read(t, "To: <broken@\nSubject: x\n\n", Options{ExtractRcpts: true}, 0)
	var he *HeaderError
	if !errors.As(err, &he) || he.Field != "To" {
		t.Fatalf("err = %v, want *HeaderError for To", err)
	}
	if ExitCode(err) != ExDataErr {
		t.Errorf("ExitCode = %d", ExitCode(err))
	}

	_, _, err = read(t, "Subject: no recipients\n\nbody\n", Options{ExtractRcpts: true}, 0)
	var ne *NoRecipientsError
	if !errors.As(err, &ne) || !ne.Extract {
		t.Fatalf("err = %v, want *NoRecipientsError", err)
	}

	// Without -t the header's addresses are not looked at.
	m, _ := mustRead(t, "To: <broken@\n\nbody\n", Options{Rcpts: []string{"a@example.org"}})
	if !reflect.DeepEqual(m.Rcpts, []string{"a@example.org"}) {
		t.Errorf("Rcpts = %q", m.Rcpts)
	}
}

func TestDots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		input      string
		ignoreDots bool
		want       string // body
	}{
		{"dot ends input", "S: x\n\nline1\n.\nafter\n", false, "line1\r\n"},
		{"dot with CRLF ends input", "S: x\r\n\r\nline1\r\n.\r\nafter\r\n", false, "line1\r\n"},
		{"dot at EOF", "S: x\n\nline1\n.", false, "line1\r\n"},
		{"-i keeps dot", "S: x\n\nline1\n.\nafter\n", true, "line1\r\n.\r\nafter\r\n"},
		{"double dot is text", "S: x\n\n..\n.x\n x\n", false, "..\r\n.x\r\n x\r\n"},
		{"dot in the header ends input", "S: x\n.\nmore\n", false, ""},
		{"dot as first body line", "S: x\n\n.\n", false, ""},
		{"dot right after a long line is text", "S: x\n\n" + strings.Repeat("y", 70000) + ".\nz\n", false,
			strings.Repeat("y", 70000) + ".\r\nz\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, body := mustRead(t, tt.input, Options{IgnoreDots: tt.ignoreDots, Rcpts: []string{"a@b"}})
			if body != tt.want {
				t.Errorf("body = %.100q, want %.100q", body, tt.want)
			}
		})
	}
}

func TestLineEndings(t *testing.T) {
	t.Parallel()
	m, body := mustRead(t, "Subject: a\nX: b\r\n\nlf\ncrlf\r\nlone\rcr\nlast", Options{Rcpts: []string{"a@b"}})
	if !strings.HasPrefix(string(m.Header), "Subject: a\r\nX: b\r\n") {
		t.Errorf("Header = %q", m.Header)
	}
	if want := "lf\r\ncrlf\r\nlone\rcr\r\nlast\r\n"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

func TestLongLinesAcrossBuffer(t *testing.T) {
	t.Parallel()
	// Lines around the reader's buffer size, so that a CRLF falls across
	// two reads for one of them.
	for n := 65530; n <= 65540; n++ {
		line := strings.Repeat("a", n)
		_, body := mustRead(t, "S: x\n\n"+line+"\r\nb\n", Options{Rcpts: []string{"a@b"}})
		if want := line + "\r\nb\r\n"; body != want {
			t.Fatalf("line of %d: body ends %q, want ending %q", n, body[len(body)-8:], want[len(want)-8:])
		}
	}
}

func TestFromField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     Options
		input    string
		from     string // envelope
		wantFrom string // From: field added, "" for none
	}{
		{"default sender", Options{}, "Subject: x\n\n", "www-data@app1.example.org", "From: www-data@app1.example.org\r\n"},
		{"-F with default sender", Options{FullName: "Cron Daemon"}, "Subject: x\n\n", "www-data@app1.example.org",
			"From: \"Cron Daemon\" <www-data@app1.example.org>\r\n"},
		{"-F and -f", Options{FullName: `A "B" C`, From: "me@example.org"}, "Subject: x\n\n", "me@example.org",
			"From: \"A \\\"B\\\" C\" <me@example.org>\r\n"},
		{"non-ASCII name", Options{FullName: "Jörg", From: "j@example.org"}, "Subject: x\n\n", "j@example.org",
			"From: =?utf-8?b?SsO2cmc=?= <j@example.org>\r\n"},
		{"control characters in the name", Options{FullName: "A\r\nBcc: x@y", From: "me@example.org"}, "Subject: x\n\n",
			"me@example.org", "From: \"A Bcc: x@y\" <me@example.org>\r\n"},
		{"From present", Options{FullName: "Cron Daemon"}, "from: other@example.org\n\n", "www-data@app1.example.org", ""},
		{"null sender", Options{NullSender: true}, "Subject: x\n\n", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.opts.Rcpts = []string{"a@b"}
			m, _ := mustRead(t, tt.input, tt.opts)
			if m.From != tt.from {
				t.Errorf("From = %q, want %q", m.From, tt.from)
			}
			added := strings.TrimPrefix(string(m.Header), "Subject: x\r\n")
			if strings.HasPrefix(tt.input, "from:") {
				added = strings.TrimPrefix(string(m.Header), "from: other@example.org\r\n")
			}
			if added != tt.wantFrom {
				t.Errorf("added %q, want %q", added, tt.wantFrom)
			}
		})
	}
}

func TestHeaderSectionShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input, header, body string
	}{
		{"no header at all", "Hello there,\nthis is a note.\n", "From: www-data@app1.example.org\r\n",
			"Hello there,\r\nthis is a note.\r\n"},
		{"body-like line ends the header", "Subject: x\nhello world\nmore\n", "Subject: x\r\nFrom: www-data@app1.example.org\r\n",
			"hello world\r\nmore\r\n"},
		{"continuation first is body", " indented\n", "From: www-data@app1.example.org\r\n", " indented\r\n"},
		{"mbox separator dropped", "From app@example.org Mon Jan  1 00:00:00 2024\nSubject: x\n\nb\n",
			"Subject: x\r\nFrom: www-data@app1.example.org\r\n", "b\r\n"},
		{"8-bit header kept", "Subject: gr\xfc\xdfe \xff\n\nb\n", "Subject: gr\xfc\xdfe \xff\r\nFrom: www-data@app1.example.org\r\n", "b\r\n"},
		{"blank name-colon spacing", "Subject : x\n\nb\n", "Subject : x\r\nFrom: www-data@app1.example.org\r\n", "b\r\n"},
		{"header only, no newline", "Subject: x", "Subject: x\r\nFrom: www-data@app1.example.org\r\n", ""},
		{"empty input", "", "From: www-data@app1.example.org\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, body := mustRead(t, tt.input, Options{Rcpts: []string{"a@b"}})
			if string(m.Header) != tt.header {
				t.Errorf("Header = %q, want %q", m.Header, tt.header)
			}
			if body != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	opts := Options{Rcpts: []string{"a@b"}}
	// Header alone too large: reported by ReadMessage.
	_, _, err := read(t, "Subject: "+strings.Repeat("x", 200)+"\n\nb\n", opts, 100)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 100 {
		t.Fatalf("err = %v, want *TooLargeError", err)
	}
	// Body too large: reported by Body's Read.
	_, _, err = read(t, "Subject: x\n\n"+strings.Repeat("line\n", 100), opts, 200)
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v, want *TooLargeError", err)
	}
	if ExitCode(err) != ExDataErr {
		t.Errorf("ExitCode = %d, want %d", ExitCode(err), ExDataErr)
	}
	// Exactly at the limit is fine: header, empty line, body, counted in
	// CRLF form.
	in := "Subject: x\n\nline\n"
	size := int64(len("Subject: x\r\nFrom: www-data@app1.example.org\r\n\r\nline\r\n"))
	if _, _, err := read(t, in, opts, size); err != nil {
		t.Errorf("message of exactly the limit: %v", err)
	}
	if _, _, err := read(t, in, opts, size-1); !errors.As(err, &tl) {
		t.Errorf("message one byte over: err = %v", err)
	}
	// Header section over the fixed cap.
	_, _, err = read(t, "X: "+strings.Repeat("y", MaxHeaderSize)+"\n\n", opts, 0)
	var he *HeaderError
	if !errors.As(err, &he) {
		t.Errorf("huge header: err = %v, want *HeaderError", err)
	}
	_, _, err = read(t, strings.Repeat("X: y\n", MaxHeaderSize/5+1)+"\n", opts, 0)
	if !errors.As(err, &he) {
		t.Errorf("many header lines: err = %v, want *HeaderError", err)
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := ReadMessage(iotest.ErrReader(boom), Options{Rcpts: []string{"a@b"}}, "x@y", 0)
	var re *ReadError
	if !errors.As(err, &re) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want *ReadError wrapping boom", err)
	}
	if ExitCode(err) != ExIOErr {
		t.Errorf("ExitCode = %d", ExitCode(err))
	}
	r := io.MultiReader(strings.NewReader("Subject: x\n\nbody\n"), iotest.ErrReader(boom))
	m, err := ReadMessage(r, Options{Rcpts: []string{"a@b"}}, "x@y", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(m.Body); !errors.As(err, &re) {
		t.Errorf("body read err = %v, want *ReadError", err)
	}
}

func FuzzReadMessage(f *testing.F) {
	f.Add([]byte("To: a@b, root\nBcc: c@d\n\nbody\n.\n"), false, true)
	f.Add([]byte("From x\nSubject: y\r\n  folded\r\n\r\n..\r\n"), true, false)
	f.Add([]byte(" no header\rx\n"), false, false)
	f.Add([]byte("To: =?x?q?a?= <a@b>;\nCc: g:;\n\n"), true, true)
	f.Fuzz(func(t *testing.T, data []byte, ignoreDots, extract bool) {
		opts := Options{IgnoreDots: ignoreDots, ExtractRcpts: extract, Rcpts: []string{"fallback@example.org"}}
		m, err := ReadMessage(bytes.NewReader(data), opts, "me@example.org", 1<<20)
		if err != nil {
			return
		}
		body, err := io.ReadAll(m.Body)
		if err != nil {
			var tl *TooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("body: %v", err)
			}
		}
		for name, b := range map[string][]byte{"header": m.Header, "body": body} {
			if len(b) > 0 && !bytes.HasSuffix(b, []byte("\r\n")) {
				t.Fatalf("%s does not end in CRLF: %q", name, b)
			}
			if i := bytes.Index(bytes.ReplaceAll(b, []byte("\r\n"), nil), []byte("\n")); i >= 0 {
				t.Fatalf("%s has a bare LF: %q", name, b)
			}
		}
		if bytes.Contains(bytes.ToLower(m.Header), []byte("\nbcc:")) || bytes.HasPrefix(bytes.ToLower(m.Header), []byte("bcc:")) {
			t.Fatalf("Bcc left in header: %q", m.Header)
		}
		if len(m.Rcpts) == 0 {
			t.Fatal("no recipients and no error")
		}
	})
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExOK},
		{&UsageError{Msg: "x"}, ExUsage},
		{&NoRecipientsError{}, ExUsage},
		{&TooLargeError{Limit: 1}, ExDataErr},
		{&HeaderError{Field: "To"}, ExDataErr},
		{&ReadError{Err: io.ErrUnexpectedEOF}, ExIOErr},
		{fmt.Errorf("spool: %w", &TooLargeError{Limit: 1}), ExDataErr},
		{errors.New("disk full"), ExTempFail},
		{smtperr.New(451, [3]int{4, 3, 0}, "try later"), ExTempFail},
		{smtperr.New(550, [3]int{5, 1, 1}, "no such user"), ExNoUser},
		{smtperr.New(554, [3]int{5, 7, 1}, "rejected"), ExUnavailable},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
