package maillog

import (
	"io"
	"log/slog"
	"testing"
)

// BenchmarkRecordAccepted is the mail log's cost for one accepted message
// with the daemon's JSON handler (writing to io.Discard) and a no-op sink.
func BenchmarkRecordAccepted(b *testing.B) {
	l := New(slog.New(slog.NewJSONHandler(io.Discard, nil)), SinkFunc(func(Event) {}))
	e := Event{Kind: Accepted, QueueID: "0123456789abcdef0123456789abcdef", MessageID: "<bench.1@client.bench>",
		Service: "unknown", From: "bench@example.org", Rcpts: 1, Size: 2300, Client: "127.0.0.1"}
	b.ReportAllocs()
	for b.Loop() {
		l.Record(e)
	}
}
