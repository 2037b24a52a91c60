package maillog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"
)

func TestRecordLogsAndFansOut(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	var got []Event
	m := New(slog.New(slog.NewJSONHandler(&buf, nil)), SinkFunc(func(e Event) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}))
	var second []Event
	m.AddSink(SinkFunc(func(e Event) { second = append(second, e) }))
	m.Record(Event{Kind: Delivered, QueueID: "q1", MessageID: "<a@b>", Service: "gerrit",
		Rcpt: "x@y", Upstream: "mx1:25", Reply: "250 ok", Attempts: 2, Delay: time.Second})
	if len(got) != 1 || len(second) != 1 || got[0].Time.IsZero() || got[0].Service != "gerrit" {
		t.Fatalf("sinks got %+v / %+v", got, second)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	want := map[string]any{"msg": "delivered", "log": "mail", "queue_id": "q1", "message_id": "<a@b>",
		"service": "gerrit", "rcpt": "x@y", "upstream": "mx1:25", "reply": "250 ok", "attempts": float64(2)}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v (record %s)", k, rec[k], v, buf.String())
		}
	}
	if _, ok := rec["next_attempt"]; ok {
		t.Errorf("unset field logged: %s", buf.String())
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := New(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	m.Record(Event{Kind: Accepted, QueueID: "a"})
	m.Record(Event{Kind: Deferred, QueueID: "b"})
	m.Record(Event{Kind: Error, QueueID: "c", Stage: "save state", Reply: "disk"})
	lines := bytes.Count(buf.Bytes(), []byte("\n"))
	if lines != 2 || bytes.Contains(buf.Bytes(), []byte(`"accepted"`)) {
		t.Fatalf("want deferred and error only at warn level:\n%s", buf.String())
	}
}

func TestNilLogIsSilent(t *testing.T) {
	t.Parallel()
	var m *Log
	m.Record(Event{Kind: Accepted})
	New(nil).Record(Event{Kind: Accepted})
}
