package msghdr

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, raw, body string
		received            int
		msgid, date, ended  bool
	}{
		{"normal", "Received: a\r\nReceived: b\r\nMessage-Id: <x@y>\r\nSubject: s\r\n folded\r\n\r\nbody\r\n",
			"Received: a\r\nReceived: b\r\nMessage-Id: <x@y>\r\nSubject: s\r\n folded\r\n", "body\r\n", 2, true, false, true},
		{"no header", "just a body line\r\n", "", "just a body line\r\n", 0, false, false, false},
		{"empty", "", "", "", 0, false, false, false},
		{"only header no newline", "DATE: now", "DATE: now\r\n", "", 0, false, true, false},
		{"blank first", "\r\nbody", "", "body", 0, false, false, true},
		{"non-field line ends header", "Subject: x\r\nnot a field\r\n", "Subject: x\r\n", "not a field\r\n", 0, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tt.in))
			h, err := Read(br, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(br)
			if string(h.Raw) != tt.raw || string(rest) != tt.body || h.Received != tt.received ||
				h.HasMessageID != tt.msgid || h.HasDate != tt.date || h.Ended != tt.ended {
				t.Fatalf("got raw=%q body=%q %+v", h.Raw, rest, h)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("X-Long: "+strings.Repeat("a", 100)+"\r\n", 100)
	if _, err := Read(bufio.NewReader(strings.NewReader(in)), 1000); err != ErrHeaderTooLarge {
		t.Fatalf("err = %v", err)
	}
}

func TestReceivedAndMissing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	r := string(Received(Trace{Helo: "app (evil)\r\nX: y", ClientIP: "127.0.0.1", By: "relay.test", With: "ESMTP", ID: "abc", For: "b@x", Time: now}))
	want := "Received: from app__evil___X:_y ([127.0.0.1])\r\n\tby relay.test (Posthorn) with ESMTP id abc\r\n\tfor <b@x>;\r\n\tSat, 21 Nov 2026 10:00:00 +0000\r\n"
	if r != want {
		t.Fatalf("got %q", r)
	}
	m := string(Missing(&Header{}, "abc", "relay.test", now))
	if m != "Message-ID: <abc@relay.test>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n" {
		t.Fatalf("got %q", m)
	}
	if Missing(&Header{HasMessageID: true, HasDate: true}, "a", "b", now) != nil {
		t.Fatal("added fields that were present")
	}
}

func FuzzRead(f *testing.F) {
	f.Add("Subject: x\r\n\r\nbody")
	f.Add("From: a\n b\nTo: c\n\nx")
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReader(strings.NewReader(in))
		h, err := Read(br, 4096)
		if err != nil {
			return
		}
		rest, _ := io.ReadAll(br)
		if len(h.Raw)+len(rest) > len(in)+2 {
			t.Fatalf("output longer than input: %q + %q from %q", h.Raw, rest, in)
		}
	})
}
