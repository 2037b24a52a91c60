package syslogfwd

import (
	"io"
	"log/slog"
	"testing"
)

// BenchmarkHandle measures one mail-log record through the tee: the JSON
// handler for stderr (to io.Discard) plus formatting and queueing the
// frame. Run is not started, so the queue stays full and drops: that is
// the steady state of a stalled collector, the worst case for callers.
func BenchmarkHandle(b *testing.B) {
	f := New(Options{Address: "127.0.0.1:1", Hostname: "mx1", ProcID: "1", Buffer: 1000})
	b.Cleanup(f.Close)
	logger := slog.New(f.Handler(slog.NewJSONHandler(io.Discard, nil))).With(slog.String("log", "mail"))
	b.ReportAllocs()
	for b.Loop() {
		logger.Info("delivered", slog.String("queue_id", "0123456789abcdef"), slog.String("service", "gerrit"),
			slog.String("rcpt", "user@example.org"), slog.String("upstream", "mx1.example.org"),
			slog.String("reply", "250 2.0.0 Ok: queued as ABC"), slog.Int("attempts", 1))
	}
}

// BenchmarkJSONOnly is the baseline: the same record through the JSON
// handler alone.
func BenchmarkJSONOnly(b *testing.B) {
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil)).With(slog.String("log", "mail"))
	b.ReportAllocs()
	for b.Loop() {
		logger.Info("delivered", slog.String("queue_id", "0123456789abcdef"), slog.String("service", "gerrit"),
			slog.String("rcpt", "user@example.org"), slog.String("upstream", "mx1.example.org"),
			slog.String("reply", "250 2.0.0 Ok: queued as ABC"), slog.Int("attempts", 1))
	}
}
