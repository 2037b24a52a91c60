package mbox

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// normalise is what a raw message reads back as after a Writer: a last
// line without newline gains one.
func normalise(raw []byte) []byte {
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		return append(bytes.Clone(raw), '\n')
	}
	return raw
}

func TestWriterRoundTrip(t *testing.T) {
	t.Parallel()
	date := time.Date(2023, 7, 4, 9, 8, 7, 0, time.UTC)
	msgs := []struct {
		sender string
		date   time.Time
		raw    string
	}{
		{"a@example.org", date, "Subject: x\n\nFrom the start\n>From quoted\n>>From twice\nFrom\nFrom:\n"},
		{"", time.Time{}, ""},
		{"b@example.org", date, "Subject: crlf\r\n\r\nFrom here\r\n>From there\r\n"},
		{"c@example.org", date.In(time.FixedZone("x", 3600)), "no final newline"},
		{"d e@example.org", date, "\n\n\n"},
		{"bad\nsender", date, "From "},
		{"f", date, "ends with blank lines\n\n"},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, m := range msgs {
		if err := w.Write(m.sender, m.date, []byte(m.raw)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []Format{Mboxrd, Auto} {
		got, errs := readAll(t, NewReader(bytes.NewReader(buf.Bytes()), f))
		if len(errs) != 0 || len(got) != len(msgs) {
			t.Fatalf("%v: %d messages, %v\n%s", f, len(got), errs, buf.Bytes())
		}
		for i, m := range got {
			want := msgs[i]
			if string(m.Raw) != string(normalise([]byte(want.raw))) {
				t.Errorf("%v: message %d raw %q, want %q", f, i, m.Raw, want.raw)
			}
			if !m.Date.Equal(want.date) {
				t.Errorf("%v: message %d date %v, want %v", f, i, m.Date, want.date)
			}
		}
		if got[0].Sender != "a@example.org" || got[1].Sender != "MAILER-DAEMON" || got[4].Sender != "d e@example.org" || got[5].Sender != "bad_sender" {
			t.Errorf("senders %q %q %q %q", got[0].Sender, got[1].Sender, got[4].Sender, got[5].Sender)
		}
	}
}

func TestWriterOutput(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write("a@b", time.Date(2024, 1, 5, 1, 2, 3, 0, time.UTC), []byte("X: 1\n\nFrom me\n>From you")); err != nil {
		t.Fatal(err)
	}
	want := "From a@b Fri Jan  5 01:02:03 2024\nX: 1\n\n>From me\n>>From you\n\n"
	if buf.String() != want {
		t.Errorf("wrote %q, want %q", buf.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

func TestWriterError(t *testing.T) {
	t.Parallel()
	if err := NewWriter(failWriter{}).Write("a", time.Time{}, []byte("x\n")); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("err = %v", err)
	}
}
