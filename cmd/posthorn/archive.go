package main

// posthorn archive: import, export, rebuild, delete and show posts of a
// list's archive in <data_dir>/archive.db. The archive store gives every
// post a permanent number; nothing here ever renumbers. An import commits
// in batches with a checkpoint (keyed by list, file, size and a hash of the
// file's start), so an interrupted import — Ctrl-C, a crash — continues
// where it stopped when the same command is run again, and running it again
// after it finished adds nothing.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/mbox"
	"github.com/posthorn/posthorn/internal/mimetext"
	"github.com/posthorn/posthorn/internal/store"
)

const archiveUsage = `usage: posthorn archive [--config FILE] COMMAND
  import LIST MBOX [--keep-numbers] [--format auto|mboxo|mboxrd] [--json]
  export LIST [--since DATE] [--until DATE] [-o FILE]
  rebuild LIST
  delete LIST NUMBER --reason R [--author A]
  show LIST NUMBER [--json]
import is resumable: after an interruption run the same command again.
--keep-numbers numbers the mbox's messages from 0 in file order, as pipermail
did, and keeps numbers carried by an export. Export writes mboxrd to standard
output or FILE; DATE is YYYY-MM-DD (--until includes that day) or RFC 3339.
exit status: 0 done, 1 failed or interrupted, 2 usage`

// archiveDBFile is the archive database in the data directory.
const archiveDBFile = "archive.db"

// openArchive opens data_dir/archive.db and the archive store in it. The
// daemon and the CLI must open it the same way (same search text).
func openArchive(ctx context.Context, dataDir string, logger *slog.Logger) (*sql.DB, *archive.Archive, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, nil, err
	}
	db, err := store.Open(filepath.Join(dataDir, archiveDBFile), store.Options{})
	if err != nil {
		return nil, nil, err
	}
	a, err := archive.New(ctx, db, archive.Options{Logger: logger, SearchText: archiveSearchText})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, a, nil
}

// archiveHook is the list server's Options.Archive (listserv.ArchiveFunc)
// over a: it archives a distributed post under the next number of list.
// Add is idempotent, so a job retried after a crash does not archive the
// post twice.
func archiveHook(a *archive.Archive) func(ctx context.Context, list string, raw []byte) error {
	return func(ctx context.Context, list string, raw []byte) error {
		_, _, err := a.Add(ctx, list, raw, archive.AddOptions{})
		return err
	}
}

// archiveEnv carries what tests replace: the import batch size and a hook
// called after every committed import batch.
type archiveEnv struct {
	batch    int
	progress func(archive.ImportProgress)
	// terminal forces the progress line on (tests); otherwise it is shown
	// when stderr is a terminal.
	terminal bool
}

// archiveCommand is one invocation of posthorn archive.
type archiveCommand struct {
	ctx    context.Context
	cfg    *config.Config
	lists  *lists.Store
	arch   *archive.Archive
	args   cmdArgs
	env    archiveEnv
	stdout io.Writer
	stderr io.Writer
}

type archiveVerb struct {
	valued, switches []string
	run              func(*archiveCommand) error
}

func archiveVerbs() map[string]archiveVerb {
	return map[string]archiveVerb{
		"import":  {valued: []string{"--format"}, switches: []string{"--keep-numbers", "--json"}, run: archiveImport},
		"export":  {valued: []string{"--since", "--until", "--o", "--output"}, run: archiveExport},
		"rebuild": {run: archiveRebuild},
		"delete":  {valued: []string{"--reason", "--author"}, run: archiveDelete},
		"show":    {switches: []string{"--json"}, run: archiveShow},
	}
}

// runArchive is "posthorn archive". The first SIGINT or SIGTERM stops an
// import cleanly after committing what it read; a second one kills.
func runArchive(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return archiveMain(ctx, args, stdout, stderr, archiveEnv{})
}

func archiveMain(ctx context.Context, args []string, stdout, stderr io.Writer, env archiveEnv) int {
	const prefix = "posthorn archive:"
	path, verb, ca, code, ok := parseCommand(prefix, archiveUsage, args, archiveVerbs(), func(v archiveVerb) ([]string, []string) { return v.valued, v.switches }, stdout, stderr)
	if !ok {
		return code
	}
	if len(ca.words) == 0 {
		fmt.Fprintf(stderr, "%s %s: want LIST\n%s\n", prefix, ca.verb, archiveUsage)
		return 2
	}
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, prefix, err)
		return 1
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ldb, ls, err := openLists(ctx, cfg.DataDir, secretPath(cfg), stderr)
	if err != nil {
		fmt.Fprintln(stderr, prefix, err)
		return 1
	}
	defer ldb.Close()
	adb, arch, err := openArchive(ctx, cfg.DataDir, logger)
	if err != nil {
		fmt.Fprintln(stderr, prefix, err)
		return 1
	}
	defer adb.Close()
	c := &archiveCommand{ctx: ctx, cfg: cfg, lists: ls, arch: arch, args: ca, env: env, stdout: stdout, stderr: stderr}
	err = verb.run(c)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s %s: %v\n%s\n", prefix, ca.verb, err, archiveUsage)
		return 2
	}
	fmt.Fprintf(stderr, "%s %s: %v\n", prefix, ca.verb, err)
	return 1
}

// list returns the canonical address of the command's LIST word: a list
// of the lists store, by address or (when unique) by name.
func (c *archiveCommand) list() (string, error) {
	return resolveList(c.ctx, c.lists, c.args.words[0])
}

// resolveList finds the list called word: its posting address, or its
// name when exactly one list has it.
func resolveList(ctx context.Context, ls *lists.Store, word string) (string, error) {
	if strings.Contains(word, "@") {
		l, err := ls.GetList(ctx, word)
		if err != nil {
			return "", err
		}
		return l.Address(), nil
	}
	all, err := ls.Lists(ctx)
	if err != nil {
		return "", err
	}
	var found []string
	for _, l := range all {
		if strings.EqualFold(l.Name, word) {
			found = append(found, l.Address())
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no list %q (create it first with posthorn lists create)", word)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%q names %d lists (%s): give the full address", word, len(found), strings.Join(found, ", "))
}

// number parses the NUMBER word.
func (c *archiveCommand) number() (int64, error) {
	if len(c.args.words) != 2 {
		return 0, usagef("want LIST NUMBER")
	}
	n, err := strconv.ParseInt(c.args.words[1], 10, 64)
	if err != nil || n < 0 {
		return 0, usagef("NUMBER %q is not a message number", c.args.words[1])
	}
	return n, nil
}

// parseDate reads YYYY-MM-DD (the day's start, or the next day's with
// endOfDay) or an RFC 3339 time.
func parseDate(s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, usagef("date %q: want YYYY-MM-DD or RFC 3339", s)
	}
	if endOfDay {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// archiveExport writes the list's posts as mboxrd, each with its number
// header so that an import with --keep-numbers gives the numbers back.
func archiveExport(c *archiveCommand) error {
	if len(c.args.words) != 1 {
		return usagef("want LIST")
	}
	list, err := c.list()
	if err != nil {
		return err
	}
	var since, until time.Time
	if s, ok := c.args.opts["--since"]; ok {
		if since, err = parseDate(s, false); err != nil {
			return err
		}
	}
	if s, ok := c.args.opts["--until"]; ok {
		if until, err = parseDate(s, true); err != nil {
			return err
		}
	}
	out := c.args.opts["--o"]
	if o, ok := c.args.opts["--output"]; ok {
		out = o
	}
	w, done, err := outputFile(c.stdout, out)
	if err != nil {
		return err
	}
	mw := mbox.NewWriter(w)
	n := 0
	err = c.arch.Export(c.ctx, list, since, until, func(e *archive.Entry, raw []byte) error {
		sender := e.FromAddr
		if sender == "" {
			sender = "MAILER-DAEMON"
		}
		n++
		return mw.Write(sender, e.Date, raw)
	})
	if err := done(err); err != nil {
		return err
	}
	if out != "" {
		fmt.Fprintf(c.stderr, "exported %d messages of %s to %s\n", n, list, out)
	}
	return nil
}

// outputFile returns where export writes: stdout for "" or "-", else a
// temporary file next to path that done renames into place after an
// fsync, so a failed export never leaves a partial file under path.
func outputFile(stdout io.Writer, path string) (io.Writer, func(error) error, error) {
	if path == "" || path == "-" {
		return stdout, func(err error) error { return err }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, nil, err
	}
	done := func(err error) error {
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), path)
		}
		if err != nil {
			os.Remove(f.Name())
		}
		return err
	}
	return f, done, nil
}

// archiveRebuild re-indexes and re-threads a list. Numbers and permalinks
// are not touched; the counts before and after are printed.
func archiveRebuild(c *archiveCommand) error {
	if len(c.args.words) != 1 {
		return usagef("want LIST")
	}
	list, err := c.list()
	if err != nil {
		return err
	}
	before, err := archiveCounts(c.ctx, c.arch, list)
	if err != nil {
		return err
	}
	if err := c.arch.Reindex(c.ctx, list); err != nil {
		return err
	}
	if err := c.arch.Rethread(c.ctx, list); err != nil {
		return err
	}
	after, err := archiveCounts(c.ctx, c.arch, list)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: re-indexed %d posts in %d months; threads %d before, %d after; numbers unchanged\n",
		list, after.posts, after.months, before.threads, after.threads)
	return nil
}

type counts struct{ posts, months, threads int }

// archiveCounts counts a list's live posts, months and threads, one month
// at a time.
func archiveCounts(ctx context.Context, a *archive.Archive, list string) (counts, error) {
	var c counts
	months, err := a.Months(ctx, list)
	if err != nil {
		return c, err
	}
	threads := map[int64]bool{}
	for _, m := range months {
		c.posts += m.Count
		c.months++
		from := time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC)
		ts, err := a.Threads(ctx, list, from, from.AddDate(0, 1, 0))
		if err != nil {
			return c, err
		}
		for _, t := range ts {
			threads[t.ID] = true
		}
	}
	c.threads = len(threads)
	return c, nil
}

// archiveDelete replaces a post by its tombstone.
func archiveDelete(c *archiveCommand) error {
	n, err := c.number()
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(c.args.opts["--reason"])
	if reason == "" {
		return usagef("--reason is required: it is shown on the tombstone page")
	}
	list, err := c.list()
	if err != nil {
		return err
	}
	author := strings.TrimSpace(c.args.opts["--author"])
	for _, v := range []string{os.Getenv("SUDO_USER"), os.Getenv("USER"), currentUser().name} {
		if author == "" {
			author = strings.TrimSpace(v)
		}
	}
	e, err := c.arch.Get(c.ctx, list, n)
	if err != nil {
		return err
	}
	if e.Deleted {
		fmt.Fprintf(c.stdout, "%s #%d was already removed on %s: %s\n", list, n, e.DeletedAt.Format(time.DateOnly), e.DeletedReason)
		return nil
	}
	if err := c.arch.Delete(c.ctx, list, n, reason, author); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s #%d removed; its number stays as a tombstone\n", list, n)
	return nil
}

// shownEntry is the JSON form of archive show.
type shownEntry struct {
	*archive.Entry
	Path       string `json:"path"`
	PrevDate   *int64 `json:"prev_date"`
	NextDate   *int64 `json:"next_date"`
	PrevThread *int64 `json:"prev_thread"`
	NextThread *int64 `json:"next_thread"`
}

func optNumber(n int64) *int64 {
	if n == archive.NoNumber {
		return nil
	}
	return &n
}

// archiveShow prints a post's archive record and, for a live post, the
// message as archived.
func archiveShow(c *archiveCommand) error {
	n, err := c.number()
	if err != nil {
		return err
	}
	list, err := c.list()
	if err != nil {
		return err
	}
	e, err := c.arch.Get(c.ctx, list, n)
	if err != nil {
		return err
	}
	nb, err := c.arch.Neighbours(c.ctx, list, n)
	if err != nil {
		return err
	}
	if c.args.has("--json") {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(shownEntry{Entry: e, Path: "/archive/" + list + "/" + strconv.FormatInt(n, 10),
			PrevDate: optNumber(nb.PrevDate), NextDate: optNumber(nb.NextDate),
			PrevThread: optNumber(nb.PrevThread), NextThread: optNumber(nb.NextThread)})
	}
	w := c.stdout
	fmt.Fprintf(w, "list:       %s\nnumber:     %d\npermalink:  %s\n", e.List, e.Number, e.Permalink)
	fmt.Fprintf(w, "message-id: %s\ndate:       %s\n", e.MessageID, e.Date.Format(time.RFC3339))
	if e.LegacyPath != "" {
		fmt.Fprintf(w, "legacy:     %s\n", e.LegacyPath)
	}
	if e.Deleted {
		fmt.Fprintf(w, "removed:    %s by %s: %s\n", e.DeletedAt.Format(time.RFC3339), e.DeletedBy, e.DeletedReason)
		return nil
	}
	fmt.Fprintf(w, "from:       %s <%s>\nsubject:    %s\nthread:     %d (depth %d)\n", e.FromName, e.FromAddr, e.Subject, e.ThreadID, e.Depth)
	if e.ParseError != "" {
		fmt.Fprintf(w, "problem:    %s\n", e.ParseError)
	}
	raw, err := c.arch.Raw(c.ctx, list, n)
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	_, err = w.Write(raw)
	return err
}

// archiveSearchText is the text the archive indexes for search: the
// decoded subject, people, body text (HTML turned to text) and attachment
// names.
func archiveSearchText(raw []byte) string {
	d, err := mimetext.Parse(raw)
	if err != nil {
		return archive.DefaultSearchText(raw)
	}
	return mimetext.SearchText(d)
}
