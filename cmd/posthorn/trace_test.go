package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/trace"
)

const (
	traceQID    = "5c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
	traceNotice = "0123456789abcdef0123456789abcdef"
)

// traceSetup writes a config whose data_dir holds a trace.db with one
// message (deferred, delivered to one recipient, bounced for the other,
// with a bounce notice) and returns the config path.
func traceSetup(t *testing.T, fill bool) string {
	t.Helper()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "posthorn.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir = %q\n", dataDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	if !fill {
		return cfg
	}
	db, err := store.Open(filepath.Join(dataDir, "trace.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := trace.New(db, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	base := maillog.Event{QueueID: traceQID, MessageID: "<abc.123@gerrit.example.org>", Service: "gerrit", From: "review@example.org"}
	ev := func(k maillog.Kind, d time.Duration, f func(*maillog.Event)) {
		e := base
		e.Kind, e.Time = k, at.Add(d)
		f(&e)
		st.Record(e)
	}
	ev(maillog.Accepted, 0, func(e *maillog.Event) { e.Client, e.Rcpts = "10.0.0.7", 2 })
	ev(maillog.Deferred, time.Second, func(e *maillog.Event) {
		e.Rcpt, e.Upstream, e.Reply, e.Attempts = "carol@example.net", "mx1.example.net:25", "451 4.3.0 try\x1b[31m later", 1
	})
	ev(maillog.Delivered, 2*time.Second, func(e *maillog.Event) {
		e.Rcpt, e.Upstream, e.Reply, e.Attempts = "dave@example.net", "mx1.example.net:25", "250 2.0.0 queued as 1234", 1
	})
	ev(maillog.Bounced, time.Minute, func(e *maillog.Event) {
		e.Rcpt, e.Upstream, e.Reply, e.Attempts = "carol@example.net", "mx2.example.net:25", "550 5.1.1 unknown user", 2
	})
	ev(maillog.Notice, time.Minute+time.Millisecond, func(e *maillog.Event) {
		e.Action, e.NoticeID, e.Rcpt = "bounce", traceNotice, "review@example.org"
	})
	st.Record(maillog.Event{Kind: maillog.Delivered, Time: at.Add(2 * time.Minute), QueueID: traceNotice,
		Service: "posthorn", Rcpt: "review@example.org", Upstream: "mx9.example.org:25", Reply: "250 ok"})
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func traceRun(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"posthorn", "trace"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestTraceTimeline(t *testing.T) {
	t.Parallel()
	cfg := traceSetup(t, true)
	for _, q := range []string{traceQID, traceQID[:8], "<abc.123@gerrit.example.org>", "abc.123@gerrit.example.org",
		"carol@example.net", "CAROL@example.net"} {
		code, out, errs := traceRun("--config", cfg, q)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %s", q, code, errs)
		}
		for _, want := range []string{
			"queue " + traceQID, "Message-ID <abc.123@gerrit.example.org>", "service gerrit", "from review@example.org",
			"notices " + traceNotice, "accepted", "451 4.3.0 try [31m later", "dave@example.net",
			"550 5.1.1 unknown user", "delivered [notice 01234567]", "mx9.example.org:25", "client 10.0.0.7",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", q, want, out)
			}
		}
		if strings.Contains(out, "\x1b") {
			t.Errorf("%s: escape character reached the terminal:\n%q", q, out)
		}
	}
	// Options after the query, and a window that excludes the message.
	code, out, errs := traceRun("carol@example.net", "--config", cfg, "--since", "10m")
	if code != 1 || out != "" || !strings.Contains(errs, `no message matches "carol@example.net"`) {
		t.Fatalf("outside window: exit %d, out %q, err %q", code, out, errs)
	}
	if code, _, errs := traceRun("--config="+cfg, "--since", "2h", "--service", "gerrit", "carol@example.net"); code != 0 {
		t.Fatalf("inside window: exit %d, %s", code, errs)
	}
	if code, _, _ := traceRun("--config", cfg, "--service", "sentry", traceQID); code != 1 {
		t.Fatalf("service filter: exit %d, want 1", code)
	}
}

func TestTraceJSON(t *testing.T) {
	t.Parallel()
	cfg := traceSetup(t, true)
	code, out, errs := traceRun("--config", cfg, "--json", traceQID)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Messages []trace.Message `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.Messages) != 1 || len(res.Messages[0].Events) != 6 || res.Messages[0].Events[5].QueueID != traceNotice {
		t.Fatalf("json: %s", out)
	}
	code, out, _ = traceRun("--config", cfg, "--json", "nobody@example.com")
	if code != 1 || !strings.Contains(out, `"messages": []`) {
		t.Fatalf("not found: exit %d, %s", code, out)
	}
}

func TestTraceErrors(t *testing.T) {
	t.Parallel()
	cfg := traceSetup(t, false)
	code, _, errs := traceRun("--config", cfg, traceQID)
	want := "no trace database at " + filepath.Join(filepath.Dir(cfg), "data", "trace.db") + ": is posthorn serve running with this data_dir?"
	if code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("missing db: exit %d, %q", code, errs)
	}
	for _, args := range [][]string{
		{"--config", cfg},
		{"--config", cfg, "a@b", "c@d"},
		{"--config", cfg, "--since", "1h", "--from", "2026-01-01", "a@b"},
		{"--config", cfg, "--from", "yesterday", "a@b"},
		{"--config", cfg, "--since", "soon", "a@b"},
		{"--config", cfg, "--bogus", "a@b"},
		{"--config"},
	} {
		code, _, errs := traceRun(args...)
		if code != 2 || !strings.Contains(errs, "usage: posthorn trace") {
			t.Errorf("%q: exit %d, %q; want usage and 2", args, code, errs)
		}
	}
}
