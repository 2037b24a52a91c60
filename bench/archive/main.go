// Command archive imports N synthetic list messages (about 2 KB each, in
// threads) into a fresh archive database and reports import rate, database
// size and one-word search latency.
//
//	go run ./bench/archive -n 1000000 -dir /var/tmp
//
// N defaults to $POSTHORN_BENCH_ARCHIVE_N, else 10000. The database is
// removed afterwards unless -keep is given.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/archive/synth"
	"github.com/posthorn/posthorn/internal/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "archive bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	defN := 10000
	if v := os.Getenv("POSTHORN_BENCH_ARCHIVE_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("POSTHORN_BENCH_ARCHIVE_N: %w", err)
		}
		defN = n
	}
	fs := flag.NewFlagSet("archive", flag.ContinueOnError)
	n := fs.Int("n", defN, "messages to import")
	dir := fs.String("dir", os.TempDir(), "directory for the scratch database (put it on the disk to measure)")
	queries := fs.Int("queries", 200, "search queries per word class")
	keep := fs.Bool("keep", false, "keep the database")
	seed := fs.Uint64("seed", 1, "generator seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	work, err := os.MkdirTemp(*dir, "posthorn-archive-bench.")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(work)
	}
	path := filepath.Join(work, "archive.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := archive.New(ctx, db, archive.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}

	last := time.Now()
	rep, err := a.Import(ctx, "dev@lists.example.org", &synth.Source{G: synth.New(*seed), N: *n}, archive.ImportOptions{
		BatchSize: 1000,
		Progress: func(p archive.ImportProgress) {
			if time.Since(last) < 10*time.Second {
				return
			}
			last = time.Now()
			left := time.Duration(float64(int64(*n)-p.Messages)/p.Rate) * time.Second
			fmt.Fprintf(out, "  %d messages, %.0f/s, %s left\n", p.Messages, p.Rate, left.Round(time.Second))
		},
	})
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	size, err := dirSize(work)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "import: %d messages (%.1f MB of mail) in %s: %.0f messages/s\n",
		rep.Added, float64(rep.Bytes)/1e6, rep.Elapsed.Round(time.Millisecond), float64(rep.Added)/rep.Elapsed.Seconds())
	fmt.Fprintf(out, "database: %.1f MB (%.0f bytes/message)\n", float64(size)/1e6, float64(size)/float64(max(rep.Added, 1)))

	r := rand.New(rand.NewPCG(*seed, 2))
	for _, class := range []struct {
		name   string
		lo, hi int
	}{{"common (rank 10-99)", 10, 100}, {"medium (rank 100-999)", 100, 1000}, {"rare (rank 1000-9999)", 1000, 10000}} {
		var lat []time.Duration
		var hits int
		for range *queries {
			w := synth.Word(class.lo + r.IntN(class.hi-class.lo))
			t0 := time.Now()
			_, total, err := a.Search(ctx, archive.Query{List: "dev@lists.example.org", Words: w, Limit: 20})
			if err != nil {
				return err
			}
			lat = append(lat, time.Since(t0))
			hits += total
		}
		slices.Sort(lat)
		fmt.Fprintf(out, "search %s: median %s, p90 %s, max %s (%d queries, mean %d hits counted)\n", class.name,
			lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*9/10].Round(10*time.Microsecond),
			lat[len(lat)-1].Round(10*time.Microsecond), len(lat), hits/max(len(lat), 1))
	}
	return nil
}

func dirSize(dir string) (int64, error) {
	var total int64
	es, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	for _, e := range es {
		info, err := e.Info()
		if err != nil {
			return 0, err
		}
		total += info.Size()
	}
	return total, nil
}
