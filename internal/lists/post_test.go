package lists

import (
	"slices"
	"strings"
	"testing"
)

func TestReadPost(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 100<<10)
	raw := "From: a@example.org\r\nSubject: s\r\n\r\n" + big + "\r\n"
	p, err := ReadPost(strings.NewReader(raw), "a@example.org", 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != int64(len(raw)) || len(p.Body) != bodyKeep || p.Rcpts != 3 || p.EnvelopeFrom != "a@example.org" {
		t.Fatalf("size %d body %d", p.Size, len(p.Body))
	}
	if _, err := ReadPost(strings.NewReader("no header here"), "", 1); err == nil {
		t.Fatal("no error for a message without a header")
	}
}

func TestTextLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"plain", []string{"Subject: s", "", "", "  one  ", "", "two", "three"}, []string{"one", "two", "three"}},
		{"quoted-printable", []string{"Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
			"Approved: se=", "cret", "next"}, []string{"Approved: secret", "next"}},
		{"multipart alternative, html first", []string{"Content-Type: multipart/alternative; boundary=XX", "", "preamble", "--XX",
			"Content-Type: text/html", "", "<p>html</p>", "--XX", "Content-Type: text/plain", "", "plain line", "--XX--"},
			[]string{"plain line"}},
		{"nested multipart", []string{`Content-Type: multipart/mixed; boundary="o"`, "", "--o",
			`Content-Type: multipart/alternative; boundary="i"`, "", "--i", "Content-Type: text/plain", "", "deep", "--i--", "--o--"},
			[]string{"deep"}},
		{"only html", []string{"Content-Type: text/html", "", "<p>subscribe</p>"}, nil},
		{"bad content type", []string{"Content-Type: ;;;", "", "subscribe"}, nil},
	}
	for _, tt := range tests {
		p := post(t, "", append(append([]string{"From: a@example.org"}, tt.lines...), "")...)
		if got := p.textLines(2); !slices.Equal(got, tt.want[:min(2, len(tt.want))]) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSendersOrderAndDedup(t *testing.T) {
	t.Parallel()
	p := post(t, "<Env@Example.org>", "From: A <a@example.org>, b@example.org", "Sender: a@EXAMPLE.org",
		"Reply-To: c@example.org", "", "x")
	var got []string
	for _, s := range p.senders() {
		got = append(got, s.source+":"+s.addr)
	}
	want := []string{"from:a@example.org", "from:b@example.org", "reply-to:c@example.org", "envelope:Env@example.org"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q", got)
	}
}
