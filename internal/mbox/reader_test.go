package mbox

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readAll reads every message; FormatErrors and TooLargeErrors are
// collected, any other error fails the test.
func readAll(t *testing.T, r *Reader) ([]*Message, []error) {
	t.Helper()
	var msgs []*Message
	var errs []error
	for i := 0; i < 10000; i++ {
		m, err := r.Next()
		if err == io.EOF {
			return msgs, errs
		}
		var fe *FormatError
		var te *TooLargeError
		switch {
		case errors.As(err, &fe), errors.As(err, &te):
			errs = append(errs, err)
		case err != nil:
			t.Fatalf("Next: %v", err)
		default:
			msgs = append(msgs, m)
		}
	}
	t.Fatal("too many messages")
	return nil, nil
}

func TestReadBasic(t *testing.T) {
	t.Parallel()
	in := "From alice@example.org Mon Jan  1 12:00:00 2024\n" +
		"Subject: one\n\nbody one\n\n" +
		"From bob@example.org Tue Feb 13 08:09:10 2024\n" +
		"Subject: two\n\nbody two\n"
	msgs, errs := readAll(t, NewReader(strings.NewReader(in), Auto))
	if len(errs) != 0 || len(msgs) != 2 {
		t.Fatalf("got %d messages, errors %v", len(msgs), errs)
	}
	want := []Message{
		{Sender: "alice@example.org", Date: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC),
			Raw: []byte("Subject: one\n\nbody one\n"), Offset: 0, Line: 1},
		{Sender: "bob@example.org", Date: time.Date(2024, 2, 13, 8, 9, 10, 0, time.UTC),
			Raw: []byte("Subject: two\n\nbody two\n"), Offset: int64(strings.Index(in, "From bob")), Line: 6},
	}
	for i, m := range msgs {
		w := want[i]
		if m.Sender != w.Sender || !m.Date.Equal(w.Date) || string(m.Raw) != string(w.Raw) || m.Offset != w.Offset || m.Line != w.Line {
			t.Errorf("message %d = %+v (raw %q), want %+v (raw %q)", i, *m, m.Raw, w, w.Raw)
		}
	}
}

func TestParseFromLine(t *testing.T) {
	t.Parallel()
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	tests := []struct {
		rest, sender string
		date         time.Time
	}{
		{"a@b.c Mon Jan  1 12:00:00 2024", "a@b.c", utc(2024, 1, 1, 12, 0, 0)},
		{"a@b.c Mon Jan 1 12:00:00 2024", "a@b.c", utc(2024, 1, 1, 12, 0, 0)},
		{"a@b.c Mon Jan  1 12:00:00 +0200 2024", "a@b.c", utc(2024, 1, 1, 10, 0, 0)},
		{"a@b.c Mon Jan  1 12:00:00 2024 -0100", "a@b.c", utc(2024, 1, 1, 13, 0, 0)},
		{"a@b.c Mon Jan  1 12:00:00 UTC 2024", "a@b.c", utc(2024, 1, 1, 12, 0, 0)},
		{"a@b.c Mon Jan  1 12:00 2024", "a@b.c", utc(2024, 1, 1, 12, 0, 0)},
		{"a@b.c Mon, 1 Jan 2024 12:00:00 +0000", "a@b.c", utc(2024, 1, 1, 12, 0, 0)},
		{"uucp!host!user Mon Jan  1 12:00:00 2024 remote from gateway", "uucp!host!user", utc(2024, 1, 1, 12, 0, 0)},
		{"john smith Mon Jan  1 12:00:00 2024", "john smith", utc(2024, 1, 1, 12, 0, 0)},
		{`"john smith"@example.org Mon Jan  1 12:00:00 2024`, `"john smith"@example.org`, utc(2024, 1, 1, 12, 0, 0)},
		{"- Mon Jan  1 12:00:00 2024", "-", utc(2024, 1, 1, 12, 0, 0)},
		{"-", "-", time.Time{}},
		{"a@b.c", "a@b.c", time.Time{}},
		{"a@b.c not a date at all", "a@b.c", time.Time{}},
		{`"x y"@z garbage`, `"x y"@z`, time.Time{}},
		{"", "", time.Time{}},
		{"MAILER-DAEMON Mon Jan  1 00:00:00 0001", "MAILER-DAEMON", time.Time{}},
	}
	for _, tt := range tests {
		sender, date := parseFromLine(tt.rest)
		if sender != tt.sender || !date.Equal(tt.date) {
			t.Errorf("parseFromLine(%q) = %q, %v; want %q, %v", tt.rest, sender, date, tt.sender, tt.date)
		}
	}
}

func TestLeadingGarbage(t *testing.T) {
	t.Parallel()
	in := "garbage line\r\nmore\nFrom a Mon Jan  1 12:00:00 2024\nX: y\n"
	r := NewReader(strings.NewReader(in), Auto)
	_, err := r.Next()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("first Next: %v, want *FormatError", err)
	}
	if string(fe.Data) != "garbage line\r\nmore\n" || fe.Line != 1 || fe.Offset != 0 || fe.Size != int64(len(fe.Data)) {
		t.Errorf("FormatError = %+v", fe)
	}
	m, err := r.Next()
	if err != nil || string(m.Raw) != "X: y\n" || m.Line != 3 || m.Offset != int64(len("garbage line\r\nmore\n")) {
		t.Fatalf("message = %+v, %v", m, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestOnlyGarbageAndEmpty(t *testing.T) {
	t.Parallel()
	msgs, errs := readAll(t, NewReader(strings.NewReader("no separator here"), Mboxrd))
	if len(msgs) != 0 || len(errs) != 1 {
		t.Fatalf("got %d messages, %v", len(msgs), errs)
	}
	if fe := errs[0].(*FormatError); string(fe.Data) != "no separator here" {
		t.Errorf("data %q", fe.Data)
	}
	msgs, errs = readAll(t, NewReader(strings.NewReader(""), Mboxrd))
	if len(msgs) != 0 || len(errs) != 0 {
		t.Fatalf("empty input: %d messages, %v", len(msgs), errs)
	}
}

func TestEdgeMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		raws     []string
	}{
		{"empty messages", "From a\nFrom b\n\nFrom c", []string{"", "", ""}},
		{"no trailing newline", "From a\nX: 1\n\nbody", []string{"X: 1\n\nbody"}},
		{"crlf", "From a Mon Jan  1 12:00:00 2024\r\nX: 1\r\n\r\nbody\r\n\r\nFrom b\r\nY: 2\r\n", []string{"X: 1\r\n\r\nbody\r\n", "Y: 2\r\n"}},
		{"two blank lines keep one", "From a\nX: 1\n\n\nFrom b\n", []string{"X: 1\n\n", ""}},
		{"no blank line before From", "From a\nX: 1\nFrom b\nY: 2\n", []string{"X: 1\n", "Y: 2\n"}},
		{"From not at line start", "From a\nX: 1\n\n From here\nsaid From me\n", []string{"X: 1\n\n From here\nsaid From me\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msgs, errs := readAll(t, NewReader(strings.NewReader(tt.in), Auto))
			if len(errs) != 0 || len(msgs) != len(tt.raws) {
				t.Fatalf("got %d messages, errors %v", len(msgs), errs)
			}
			for i, m := range msgs {
				if string(m.Raw) != tt.raws[i] {
					t.Errorf("message %d raw %q, want %q", i, m.Raw, tt.raws[i])
				}
			}
		})
	}
}

func TestUnquoting(t *testing.T) {
	t.Parallel()
	in := "From a\n>From one\n>>From two\n>>>From three\n>Fromage\n> From x\n"
	tests := []struct {
		f          Format
		raw        string
		formatSeen Format
	}{
		{Mboxrd, "From one\n>From two\n>>From three\n>Fromage\n> From x\n", Mboxrd},
		{Auto, "From one\n>From two\n>>From three\n>Fromage\n> From x\n", Mboxrd},
		{Mboxo, "From one\n>>From two\n>>>From three\n>Fromage\n> From x\n", Mboxo},
	}
	for _, tt := range tests {
		r := NewReader(strings.NewReader(in), tt.f)
		m, err := r.Next()
		if err != nil || string(m.Raw) != tt.raw {
			t.Errorf("%v: raw %q, %v; want %q", tt.f, m.Raw, err, tt.raw)
		}
		if r.Format() != tt.formatSeen {
			t.Errorf("%v: Format() = %v, want %v", tt.f, r.Format(), tt.formatSeen)
		}
	}
	r := NewReader(strings.NewReader("From a\n>From one\n"), Auto)
	if _, err := r.Next(); err != nil || r.Format() != Auto {
		t.Errorf("no discriminating line: Format() = %v, %v; want auto", r.Format(), err)
	}
}

func TestLongLine(t *testing.T) {
	t.Parallel()
	long := bytes.Repeat([]byte("x"), 300<<10)
	in := "From a\nX: " + string(long) + "\n\nFrom " + string(long) + "\n" + ">From " + string(long) + "\n"
	msgs, errs := readAll(t, NewReader(strings.NewReader(in), Mboxrd))
	if len(errs) != 0 || len(msgs) != 2 {
		t.Fatalf("got %d messages, %v", len(msgs), errs)
	}
	if string(msgs[0].Raw) != "X: "+string(long)+"\n" {
		t.Errorf("long header line lost: %d bytes", len(msgs[0].Raw))
	}
	if msgs[1].Sender != string(long) || string(msgs[1].Raw) != "From "+string(long)+"\n" {
		t.Errorf("long From line: sender %d bytes, raw %d bytes", len(msgs[1].Sender), len(msgs[1].Raw))
	}
}

func TestMaxSize(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789\n", 100)
	in := "lead-in " + strings.Repeat("z", 50) + "\n" +
		"From a\nsmall\n\nFrom big Mon Jan  1 12:00:00 2024\n" + big + "\nFrom c\nafter\n"
	r := NewReader(strings.NewReader(in), Auto)
	r.MaxSize = 20
	msgs, errs := readAll(t, r)
	if len(msgs) != 2 || string(msgs[0].Raw) != "small\n" || string(msgs[1].Raw) != "after\n" {
		t.Fatalf("messages %+v", msgs)
	}
	if len(errs) != 2 {
		t.Fatalf("errors %v", errs)
	}
	var fe *FormatError
	if !errors.As(errs[0], &fe) || len(fe.Data) != 20 || fe.Size != 59 {
		t.Errorf("lead-in error %v (data %d bytes)", errs[0], len(fe.Data))
	}
	var te *TooLargeError
	if !errors.As(errs[1], &te) || te.Sender != "big" || te.Line != 5 || te.Size != int64(len(big)+1) || te.Limit != 20 {
		t.Errorf("too large error %#v", errs[1])
	}
	if te != nil && te.Offset != int64(strings.Index(in, "From big")) {
		t.Errorf("offset %d", te.Offset)
	}
}

func TestResume(t *testing.T) {
	t.Parallel()
	in := "junk\nFrom a\n1\n\nFrom b\n2\n\nFrom c\n3\n"
	all, _ := readAll(t, NewReader(strings.NewReader(in), Auto))
	if len(all) != 3 {
		t.Fatalf("%d messages", len(all))
	}
	at := all[1]
	r := NewReaderAtLine(strings.NewReader(in[at.Offset:]), Auto, at.Offset, at.Line)
	rest, errs := readAll(t, r)
	if len(errs) != 0 || len(rest) != 2 {
		t.Fatalf("resumed: %d messages, %v", len(rest), errs)
	}
	for i, m := range rest {
		w := all[i+1]
		if m.Offset != w.Offset || m.Line != w.Line || string(m.Raw) != string(w.Raw) || m.Sender != w.Sender {
			t.Errorf("resumed message %d = %+v, want %+v", i, m, w)
		}
	}
	r = NewReaderAt(strings.NewReader(in[at.Offset:]), Auto, at.Offset)
	m, err := r.Next()
	if err != nil || m.Offset != at.Offset || m.Line != 1 {
		t.Errorf("NewReaderAt: %+v, %v", m, err)
	}
}

func TestReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	src := io.MultiReader(strings.NewReader("From a\npartial"), iotest.ErrReader(boom))
	r := NewReader(src, Auto)
	for i := 0; i < 2; i++ {
		if _, err := r.Next(); !errors.Is(err, boom) {
			t.Fatalf("call %d: %v, want %v", i, err, boom)
		}
	}
	// Small reads must not change the result.
	in := "From a\nX: 1\n\nFrom b\nY: 2\n"
	msgs, _ := readAll(t, NewReader(iotest.OneByteReader(strings.NewReader(in)), Auto))
	if len(msgs) != 2 || string(msgs[1].Raw) != "Y: 2\n" || msgs[1].Offset != 13 {
		t.Errorf("one-byte reader: %+v", msgs)
	}
}
