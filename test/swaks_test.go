package test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil/postfix"
)

// swaks runs swaks against addr with the given extra arguments and returns
// its transcript and error (swaks exits non-zero when the server refuses).
func swaks(t testing.TB, tools postfix.Tools, addr string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	host, port, _ := strings.Cut(addr, ":")
	all := append([]string{"--server", host, "--port", port, "--helo", "client.test", "--timeout", "30"}, args...)
	cmd := exec.CommandContext(ctx, tools.Swaks, all...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// writeMessage writes a DATA file for swaks --data.
func writeMessage(t testing.TB, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "message.eml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// swaks → posthorn → smtp-sink: a message without Message-ID and Date, with
// an 8-bit body and three recipients, arrives with the 8-bit bytes intact
// and the headers posthorn adds.
func TestSwaksEightBitMessage(t *testing.T) {
	t.Parallel()
	tools := postfix.Find(t)
	sink := postfix.StartSink(t, tools, postfix.SinkOptions{Dump: true})
	ph := startPosthorn(t, relayConfig{Upstreams: []string{sink.Addr}})

	const body = "Grüße aus Zürich — ½ € \xe2\x9c\x93\n"
	data := writeMessage(t, "From: Sender <sender@example.org>\nTo: team@example.net\n"+
		"Subject: eight bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"+
		"Content-Transfer-Encoding: 8bit\n\n"+body)
	rcpts := []string{"a@example.net", "b@example.net", "c@example.net"}
	out, err := swaks(t, tools, ph.Addr, "--from", "sender@example.org",
		"--to", strings.Join(rcpts, ","), "--data", "@"+data)
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	sink.WaitCount(t, 1, time.Minute)
	ph.waitQueueEmpty(t, time.Minute)

	var got []string
	for _, m := range sink.Messages(t) {
		got = append(got, m.Rcpts()...)
		if m.From() != "sender@example.org" {
			t.Errorf("%s: sender %q", m.File, m.From())
		}
		if !bytes.Contains(m.Body(), []byte(body)) {
			t.Errorf("%s: 8-bit body not intact:\n%q", m.File, m.Body())
		}
		recv := m.Header("Received")
		if len(recv) == 0 || !strings.Contains(recv[0], "relay.test") {
			t.Errorf("%s: first Received %q does not name relay.test", m.File, recv)
		}
		if !strings.HasPrefix(string(m.Data), "Received:") {
			t.Errorf("%s: message does not start with posthorn's Received header:\n%.200s", m.File, m.Data)
		}
		for _, h := range []string{"Message-ID", "Date"} {
			if n := len(m.Header(h)); n != 1 {
				t.Errorf("%s: %d %s headers, want 1 added by posthorn", m.File, n, h)
			}
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, rcpts) {
		t.Errorf("sink recipients %q, want %q", got, rcpts)
	}
}

// replyCode matches a swaks transcript line carrying a server reply with
// the given code ("<** 552 ..." for errors, "<~** " under TLS).
func replyCode(out, code string) bool {
	return regexp.MustCompile(`(?m)^<~?\*\* ` + code + `[ -]`).MatchString(out)
}

// Posthorn refuses an oversized message with 552 and queues nothing.
func TestSwaksOversizedMessage(t *testing.T) {
	t.Parallel()
	tools := postfix.Find(t)
	sink := postfix.StartSink(t, tools, postfix.SinkOptions{})
	ph := startPosthorn(t, relayConfig{Upstreams: []string{sink.Addr}, MaxMessageSize: "10000"})

	big := "Subject: big\n\n" + strings.Repeat(strings.Repeat("x", 76)+"\n", 400) // ~31 KB
	out, err := swaks(t, tools, ph.Addr, "--from", "app@example.org", "--to", "user@example.net",
		"--data", "@"+writeMessage(t, big))
	if err == nil {
		t.Fatalf("swaks succeeded with a 31 KB message over a 10000-byte limit:\n%s", out)
	}
	if !replyCode(out, "552") {
		t.Errorf("want a 552 reply to the oversized message; transcript:\n%s", out)
	}
	if q := ph.queue(t); len(q) != 0 {
		t.Errorf("refused message was queued: %+v", q)
	}
	// A message within the limit still goes through on the same relay.
	out, err = swaks(t, tools, ph.Addr, "--from", "app@example.org", "--to", "user@example.net",
		"--data", "@"+writeMessage(t, "Subject: small\n\nfits\n"))
	if err != nil {
		t.Fatalf("swaks with a small message: %v\n%s", err, out)
	}
	sink.WaitCount(t, 1, time.Minute)
}

// Posthorn refuses recipients beyond max_recipients with 452 and delivers the message to the ones it accepted.
func TestSwaksTooManyRecipients(t *testing.T) {
	t.Parallel()
	tools := postfix.Find(t)
	sink := postfix.StartSink(t, tools, postfix.SinkOptions{Dump: true})
	ph := startPosthorn(t, relayConfig{Upstreams: []string{sink.Addr}, MaxRecipients: 3})

	rcpts := []string{"r1@example.net", "r2@example.net", "r3@example.net", "r4@example.net", "r5@example.net"}
	out, _ := swaks(t, tools, ph.Addr, "--from", "app@example.org", "--to", strings.Join(rcpts, ","),
		"--data", "@"+writeMessage(t, "Subject: many\n\nhello\n"))
	if !replyCode(out, "452") { // RFC 5321 4.5.3.1.10
		t.Fatalf("want a 452 reply past 3 recipients; transcript:\n%s", out)
	}
	sink.WaitCount(t, 1, time.Minute)
	ph.waitQueueEmpty(t, time.Minute)
	var got []string
	for _, m := range sink.Messages(t) {
		got = append(got, m.Rcpts()...)
	}
	slices.Sort(got)
	if !slices.Equal(got, rcpts[:3]) {
		t.Errorf("delivered to %q, want the first three %q", got, rcpts[:3])
	}
}
