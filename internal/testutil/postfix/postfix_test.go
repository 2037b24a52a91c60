package postfix

import (
	"strings"
	"testing"
	"time"
)

func TestSinkCountsSourceMessages(t *testing.T) {
	t.Parallel()
	tools := Find(t)
	sink := StartSink(t, tools, SinkOptions{})
	RunSource(t, tools, sink.Addr, SourceOptions{Sessions: 4, Messages: 40, Size: 500})
	sink.WaitCount(t, 40, 30*time.Second)
	if got := sink.Count(); got != 40 {
		t.Errorf("sink counted %d messages, want 40", got)
	}
}

func TestSinkDumpsTransactions(t *testing.T) {
	t.Parallel()
	tools := Find(t)
	sink := StartSink(t, tools, SinkOptions{Dump: true})
	RunSource(t, tools, sink.Addr, SourceOptions{
		Messages: 2, Recipients: 2, Size: 100,
		From: "a@example.org", To: "b@example.net",
	})
	sink.WaitCount(t, 2, 30*time.Second)
	msgs := sink.Messages(t)
	if len(msgs) != 2 {
		t.Fatalf("got %d dumped messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		if m.From() != "a@example.org" {
			t.Errorf("%s: sender %q, want a@example.org", m.File, m.From())
		}
		rcpts := strings.Join(m.Rcpts(), ",")
		if !strings.Contains(rcpts, "b@example.net") || len(m.Rcpts()) != 2 {
			t.Errorf("%s: recipients %q, want 2 including b@example.net", m.File, rcpts)
		}
		if got := m.Header("From"); len(got) != 1 || got[0] != "<a@example.org>" {
			t.Errorf("%s: From header %q", m.File, got)
		}
		if len(m.Body()) < 100 {
			t.Errorf("%s: body of %d bytes, want at least 100", m.File, len(m.Body()))
		}
	}
}

func TestSinkRejects(t *testing.T) {
	t.Parallel()
	tools := Find(t)
	sink := StartSink(t, tools, SinkOptions{Args: []string{"-f", "RCPT"}})
	if out, err := RunSourceErr(tools, sink.Addr, SourceOptions{Messages: 1, Timeout: 30 * time.Second}); err == nil {
		t.Fatalf("smtp-source succeeded against a sink rejecting RCPT:\n%s", out)
	}
	if got := sink.Count(); got != 0 {
		t.Errorf("sink counted %d messages, want 0", got)
	}
}

func TestPostfixRelaysToSink(t *testing.T) {
	t.Parallel()
	tools := Find(t)
	sink := StartSink(t, tools, SinkOptions{Dump: true})
	inst := StartInstance(t, tools, Options{RelayHost: sink.Addr})
	RunSource(t, tools, inst.Addr, SourceOptions{Sessions: 5, Messages: 50, Size: 1000, From: "a@example.org", To: "b@example.net"})
	sink.WaitCount(t, 50, 60*time.Second)
	inst.WaitQueueEmpty(t, 30*time.Second)
	for _, m := range sink.Messages(t) {
		if got := m.Header("Received"); len(got) == 0 || !strings.Contains(got[0], "postfix.test") {
			t.Errorf("%s: first Received %q does not name postfix.test", m.File, got)
		}
	}
}

func TestMainConfig(t *testing.T) {
	t.Parallel()
	main := MainConfig("/x", Options{RelayHost: "127.0.0.1:2525", Main: map[string]string{"myhostname": "other.test"}})
	for k, want := range map[string]string{
		"relayhost":       "[127.0.0.1]:2525",
		"queue_directory": "/x/spool",
		"myhostname":      "other.test",
		"mydestination":   "",
	} {
		if got := main[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(renderMain(main), "relayhost = [127.0.0.1]:2525\n") {
		t.Errorf("rendered main.cf lacks relayhost:\n%s", renderMain(main))
	}
}

func TestParseDump(t *testing.T) {
	t.Parallel()
	raw := "X-Client-Addr: 127.0.0.1\nX-Client-Proto: ESMTP\nX-Helo-Args: h\n" +
		"X-Mail-Args: <a@x> BODY=8BITMIME\nX-Rcpt-Args: <b@y>\nX-Rcpt-Args: <c@y>\n" +
		"Received: from h ([127.0.0.1])\n\tby smtp-sink (smtp-sink) with ESMTP id 1;\n\tSat, 1 Jan 2000 00:00:00 +0000\n" +
		"Subject: hi\n there\n\nbody\n\n"
	m, err := parseDump([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.From() != "a@x" || strings.Join(m.Rcpts(), ",") != "b@y,c@y" {
		t.Errorf("envelope %q %q", m.From(), m.Rcpts())
	}
	if got := m.Header("subject"); len(got) != 1 || got[0] != "hi there" {
		t.Errorf("Subject %q", got)
	}
	if string(m.Body()) != "body\n" {
		t.Errorf("body %q", m.Body())
	}
}
