package main

// posthorn queue (and mailq): operate on the queue. When a daemon holds the
// data directory's lock, every operation goes through its control socket so
// that its in-memory schedule stays the truth. Otherwise the command takes
// the lock itself, so that no daemon starts meanwhile, and works on the
// spool directly.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/control"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/spool"
)

const queueUsage = "usage: posthorn queue [--config FILE] list [--json] | show ID [--json] | flush [ID] | hold ID | release ID | delete ID"

// queueBackend is the queue as the command sees it: a running daemon's or
// the spool's.
type queueBackend struct {
	ops    control.QueueOps
	list   func() ([]queue.Summary, error)
	online bool
	close  func()
}

func runQueue(args []string, stdout, stderr io.Writer) int {
	path, rest, err := configFlag(args)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn queue:", err)
		return 2
	}
	asJSON := false
	var words []string
	for _, a := range rest {
		switch {
		case a == "--json" || a == "-json":
			asJSON = true
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "posthorn queue: unknown option %q\n%s\n", a, queueUsage)
			return 2
		default:
			words = append(words, a)
		}
	}
	verb, id, ok := queueWords(words)
	if !ok {
		fmt.Fprintln(stderr, queueUsage)
		return 2
	}
	if id != "" && !spool.ValidID(id) {
		fmt.Fprintf(stderr, "posthorn queue: %q is not a queue id (32 hexadecimal digits)\n", id)
		return 1
	}
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn queue:", err)
		return 1
	}
	b, err := openQueue(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn queue:", err)
		return 1
	}
	defer b.close()
	if err := queueCommand(b, verb, id, asJSON, stdout); err != nil {
		if errors.Is(err, queue.ErrNotFound) {
			err = fmt.Errorf("no message %s in the queue", id)
		}
		fmt.Fprintln(stderr, "posthorn queue:", err)
		return 1
	}
	return 0
}

// queueWords checks the verb and its id argument.
func queueWords(words []string) (verb, id string, ok bool) {
	if len(words) == 0 {
		return "", "", false
	}
	verb = words[0]
	switch verb {
	case "list":
		return verb, "", len(words) == 1
	case "flush":
		if len(words) == 2 {
			return verb, words[1], true
		}
		return verb, "", len(words) == 1
	case "show", "hold", "release", "delete":
		if len(words) == 2 {
			return verb, words[1], true
		}
	}
	return "", "", false
}

func queueCommand(b *queueBackend, verb, id string, asJSON bool, stdout io.Writer) error {
	switch verb {
	case "list":
		list, err := b.list()
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSONTo(stdout, list)
		}
		printQueue(stdout, list)
		return nil
	case "show":
		d, err := b.ops.Show(id)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSONTo(stdout, d)
		}
		printDetail(stdout, d)
		return nil
	case "flush":
		if !b.online {
			if id != "" {
				if _, err := b.ops.Show(id); err != nil {
					return err
				}
			}
			fmt.Fprintln(stdout, "posthorn is not running; queued messages are attempted when it starts")
			return nil
		}
		if err := b.ops.Flush(id); err != nil {
			return err
		}
		if id == "" {
			fmt.Fprintln(stdout, "every queued message is due now")
		} else {
			fmt.Fprintln(stdout, id+": due now")
		}
		return nil
	}
	op, done := map[string]func(string) error{
		"hold": b.ops.Hold, "release": b.ops.Release, "delete": b.ops.Delete,
	}[verb], map[string]string{"hold": "held", "release": "released", "delete": "deleted"}[verb]
	if err := op(id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", id, done)
	return nil
}

// openQueue connects to the running daemon, or opens the spool when there
// is none.
func openQueue(cfg *config.Config, stderr io.Writer) (*queueBackend, error) {
	p := pathsOf(cfg.DataDir)
	if _, err := os.Stat(cfg.DataDir); errors.Is(err, fs.ErrNotExist) {
		// Nothing was ever queued here; do not create the directory.
		q := queue.New(queue.Options{})
		return &queueBackend{ops: q, list: func() ([]queue.Summary, error) { return q.List(), nil }, close: func() {}}, nil
	}
	lock, running, err := tryLock(p.lock)
	if err != nil {
		return nil, err
	}
	if running {
		c := control.NewClient(p.control)
		return &queueBackend{ops: c, list: c.ListErr, online: true, close: func() {}}, nil
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := spool.Open(p.queue, p.quarantine, logger)
	if err != nil {
		lock.Close()
		return nil, err
	}
	q := queue.New(queue.Options{Store: st, Hostname: cfg.Hostname, Logger: logger})
	if _, _, err := q.Recover(); err != nil {
		st.Close()
		lock.Close()
		return nil, fmt.Errorf("reading the spool: %w", err)
	}
	list := func() ([]queue.Summary, error) {
		return append(q.List(), dropSummaries(p.maildrop)...), nil
	}
	return &queueBackend{ops: q, list: list, close: func() { st.Close(); lock.Close() }}, nil
}

// tryLock reports whether a daemon holds the lock file; when none does, the
// lock is returned held. A file we may only read can still be locked.
func tryLock(path string) (f *os.File, running bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, fs.ErrPermission) {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, false, nil
}

// dropSummaries lists the messages sendmail left in the drop directory that
// no daemon has picked up yet (read-only: nothing is repaired here).
func dropSummaries(dir string) []queue.Summary {
	st, err := spool.Open(dir, "", nil)
	if err != nil {
		return nil
	}
	defer st.Close()
	var out []queue.Summary
	_ = st.Scan(false, func(r spool.ScanResult) {
		if r.Err == nil {
			out = append(out, queue.Summarize(r.Msg))
		}
	})
	return out
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05 -0700")
}

func sender(from string) string {
	if from == "" {
		return "<>"
	}
	return from
}

func statusWord(s queue.Summary) string {
	switch {
	case s.InFlight:
		return "in flight"
	case s.Held:
		return "held"
	}
	return "queued"
}

// printQueue writes a listing like mailq's: one block per message.
func printQueue(w io.Writer, list []queue.Summary) {
	if len(list) == 0 {
		fmt.Fprintln(w, "Mail queue is empty")
		return
	}
	queue.SortSummaries(list)
	var total int64
	for _, s := range list {
		total += s.Size
		fmt.Fprintf(w, "%s  %d  %s  %s", s.ID, s.Size, formatTime(s.Arrival), sender(s.From))
		if st := statusWord(s); st != "queued" {
			fmt.Fprintf(w, "  (%s)", st)
		}
		fmt.Fprintln(w)
		for _, r := range s.Recipients {
			fmt.Fprintf(w, "    %s  %s", r.Addr, r.State)
			if r.Attempts > 0 {
				fmt.Fprintf(w, ", %d attempt%s", r.Attempts, plural(r.Attempts))
			}
			fmt.Fprintln(w)
			if r.LastError != "" {
				fmt.Fprintf(w, "        (%s)\n", oneLine(r.LastError))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "-- %d message%s, %d bytes\n", len(list), plural(len(list)), total)
}

// printDetail writes everything known about one message.
func printDetail(w io.Writer, d *queue.Detail) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "Queue ID:\t%s\n", d.ID)
	fmt.Fprintf(tw, "Sender:\t%s\n", sender(d.From))
	fmt.Fprintf(tw, "Arrival:\t%s\n", formatTime(d.Arrival))
	fmt.Fprintf(tw, "Size:\t%d bytes\n", d.Size)
	fmt.Fprintf(tw, "Client:\t%s\n", d.Client)
	fmt.Fprintf(tw, "Service:\t%s\n", d.Service)
	if d.Personal != "" {
		fmt.Fprintf(tw, "Personalized:\tone copy per recipient, for list %s\n", d.Personal)
	}
	fmt.Fprintf(tw, "Status:\t%s\n", statusWord(d.Summary))
	fmt.Fprintf(tw, "Next attempt:\t%s\n", formatTime(d.NextAttempt))
	_ = tw.Flush()
	fmt.Fprintln(w, "Recipients:")
	for _, r := range d.Recipients {
		fmt.Fprintf(w, "  %s  %s, %d attempt%s", r.Addr, r.State, r.Attempts, plural(r.Attempts))
		if !r.LastAttempt.IsZero() {
			fmt.Fprintf(w, ", last %s", formatTime(r.LastAttempt))
		}
		if r.Upstream != "" {
			fmt.Fprintf(w, " via %s", r.Upstream)
		}
		if r.MaybeDelivered {
			fmt.Fprint(w, " (may have been delivered)")
		}
		fmt.Fprintln(w)
		if r.LastError != "" {
			fmt.Fprintf(w, "      last error: %s\n", oneLine(r.LastError))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Headers:")
	fmt.Fprint(w, strings.ReplaceAll(d.Headers, "\r\n", "\n"))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
