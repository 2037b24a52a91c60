package test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil/postfix"
)

// smtp-source → posthorn → smtp-sink: every accepted message arrives once
// and the queue ends empty.
func TestSourceThroughPosthornToSink(t *testing.T) {
	t.Parallel()
	tools := postfix.Find(t)
	sink := postfix.StartSink(t, tools, postfix.SinkOptions{})
	ph := startPosthorn(t, relayConfig{Upstreams: []string{sink.Addr}})

	const n = 500
	postfix.RunSource(t, tools, ph.Addr, postfix.SourceOptions{Sessions: 10, Messages: n, Size: 2000, Reuse: true})
	sink.WaitCount(t, n, 2*time.Minute)
	ph.waitQueueEmpty(t, time.Minute)
	if got := sink.Count(); got != n {
		t.Errorf("sink accepted %d messages, want exactly %d", got, n)
	}
}

// smtp-source → private Postfix (relayhost = posthorn) → posthorn →
// smtp-sink.
func TestPostfixRelaysThroughPosthorn(t *testing.T) {
	t.Parallel()
	tools := postfix.Find(t)
	sink := postfix.StartSink(t, tools, postfix.SinkOptions{Dump: true})
	ph := startPosthorn(t, relayConfig{Upstreams: []string{sink.Addr}})
	pf := postfix.StartInstance(t, tools, postfix.Options{RelayHost: ph.Addr})

	const n = 100
	postfix.RunSource(t, tools, pf.Addr, postfix.SourceOptions{
		Sessions: 5, Messages: n, Size: 1000, From: "app@example.org", To: "user@example.net",
	})
	sink.WaitCount(t, n, 2*time.Minute)
	pf.WaitQueueEmpty(t, time.Minute)
	ph.waitQueueEmpty(t, time.Minute)
	msgs := sink.Messages(t)
	if len(msgs) != n {
		t.Fatalf("sink dumped %d messages, want %d", len(msgs), n)
	}
	for _, m := range msgs[:3] {
		if m.From() != "app@example.org" || strings.Join(m.Rcpts(), ",") != "user@example.net" {
			t.Errorf("%s: envelope %q → %q", m.File, m.From(), m.Rcpts())
		}
		recv := m.Header("Received")
		if len(recv) < 2 || !strings.Contains(recv[0], "relay.test") || !strings.Contains(recv[1], "postfix.test") {
			t.Errorf("%s: want Received by relay.test then by postfix.test, got %q", m.File, recv)
		}
		for _, h := range []string{"Message-ID", "Date"} {
			if n := len(m.Header(h)); n != 1 {
				t.Errorf("%s: %d %s headers, want the one smtp-source sent", m.File, n, h)
			}
		}
	}
}

// smtp-source → posthorn → private Postfix (upstream) → smtp-sink, and
// posthorn sendmail on the same path.
func TestPosthornRelaysThroughPostfix(t *testing.T) {
	t.Parallel()
	tools := postfix.Find(t)
	sink := postfix.StartSink(t, tools, postfix.SinkOptions{Dump: true})
	pf := postfix.StartInstance(t, tools, postfix.Options{RelayHost: sink.Addr})
	ph := startPosthorn(t, relayConfig{Upstreams: []string{pf.Addr}})

	const n = 100
	postfix.RunSource(t, tools, ph.Addr, postfix.SourceOptions{
		Sessions: 5, Messages: n, Size: 1000, From: "app@example.org", To: "user@example.net",
	})
	msg := []byte("From: cron@example.org\nTo: ops@example.net\nSubject: nightly\n\nreport\n")
	ph.sendmail(t, msg, "cron@example.org", "ops@example.net")

	sink.WaitCount(t, n+1, 2*time.Minute)
	ph.waitQueueEmpty(t, time.Minute)
	pf.WaitQueueEmpty(t, time.Minute)
	var found bool
	for _, m := range sink.Messages(t) {
		if m.From() != "cron@example.org" {
			continue
		}
		found = true
		if got := strings.Join(m.Rcpts(), ","); got != "ops@example.net" {
			t.Errorf("sendmail message recipients %q, want ops@example.net", got)
		}
		if !bytes.Contains(m.Body(), []byte("report")) {
			t.Errorf("sendmail message body %q lacks the text sent", m.Body())
		}
		for _, h := range []string{"Message-ID", "Date"} {
			if len(m.Header(h)) != 1 {
				t.Errorf("sendmail message has %d %s headers, want 1", len(m.Header(h)), h)
			}
		}
	}
	if !found {
		t.Error("the message sent with posthorn sendmail did not reach the sink")
	}
}

// posthorn sendmail while the daemon is down queues durably; the daemon
// delivers it once started.
func TestSendmailWhileDaemonDown(t *testing.T) {
	t.Parallel()
	tools := postfix.Find(t)
	sink := postfix.StartSink(t, tools, postfix.SinkOptions{Dump: true})
	ph := newRelayConfig(t, relayConfig{Upstreams: []string{sink.Addr}})

	msg := []byte("Subject: queued offline\n\nbody\n")
	ph.sendmail(t, msg, "app@example.org", "user@example.net")
	if q := ph.queue(t); len(q) != 1 || len(q[0].Recipients) != 1 || q[0].Recipients[0].State != "pending" {
		t.Fatalf("queue after offline sendmail = %+v, want one message with one pending recipient", q)
	}
	if err := ph.serve(t); err != nil {
		t.Fatal(err)
	}
	sink.WaitCount(t, 1, time.Minute)
	ph.waitQueueEmpty(t, time.Minute)
	m := sink.Messages(t)
	if len(m) != 1 || m[0].From() != "app@example.org" {
		t.Fatalf("sink got %+v, want the one queued message", m)
	}
}
