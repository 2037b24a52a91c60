package archive

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/posthorn/posthorn/internal/archive/synth"
	"github.com/posthorn/posthorn/internal/store"
)

// BenchmarkImport imports b.N synthetic ~2 KB messages in threads; see
// bench/archive for the million-message run with database size and search
// latency.
func BenchmarkImport(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "archive.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a, err := New(context.Background(), db, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	src := &synth.Source{G: synth.New(1), N: b.N}
	b.ResetTimer()
	rep, err := a.Import(context.Background(), "dev", src, ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rep.Bytes)/float64(b.N), "bytes/msg")
}

func TestSynthMessagesThread(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	rep, err := a.Import(context.Background(), "dev", &synth.Source{G: synth.New(3), N: 300}, ImportOptions{})
	if err != nil || rep.Added != 300 || len(rep.Unparsed) != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	var threads, deep int
	if err := a.db.QueryRow(`SELECT count(DISTINCT thread_id), max(depth) FROM archive_messages`).Scan(&threads, &deep); err != nil {
		t.Fatal(err)
	}
	if threads < 50 || threads > 200 || deep < 3 {
		t.Fatalf("%d threads, max depth %d: not realistic threads", threads, deep)
	}
	b, _ := a.Raw(context.Background(), "dev", 1)
	if len(b) < 1500 || len(b) > 2600 {
		t.Fatalf("message of %d bytes", len(b))
	}
}
