package main

// posthorn trace: a message's history from the trace store the daemon
// keeps in <data_dir>/trace.db, read through a read-only handle so that it
// works while the daemon writes.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/trace"
)

const traceUsage = `usage: posthorn trace [--config FILE] [--json] [--since DURATION | --from TIME --to TIME]
                     [--service S] [--list L] [--limit N] QUERY
QUERY is a queue id (or its first 8+ hex digits), a Message-ID, or an address
(sender or recipient); TIME is 2006-01-02, "2006-01-02 15:04" or RFC 3339 (local
time unless a zone is given); DURATION is e.g. 2h or 7d.
exit status: 0 found, 1 not found or error, 2 usage`

// traceArgs is the parsed command line.
type traceArgs struct {
	config   string
	asJSON   bool
	since    string
	from, to string
	query    trace.Query
}

func parseTraceArgs(args []string) (traceArgs, error) {
	var a traceArgs
	path, rest, err := configFlag(args)
	if err != nil {
		return a, err
	}
	a.config = path
	fset := flag.NewFlagSet("trace", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.BoolVar(&a.asJSON, "json", false, "")
	fset.StringVar(&a.since, "since", "", "")
	fset.StringVar(&a.from, "from", "", "")
	fset.StringVar(&a.to, "to", "", "")
	fset.StringVar(&a.query.Service, "service", "", "")
	fset.StringVar(&a.query.List, "list", "", "")
	fset.IntVar(&a.query.Limit, "limit", 0, "")
	var words []string
	// Options may come before or after QUERY.
	for range len(rest) + 1 {
		if err := fset.Parse(rest); err != nil {
			return a, err
		}
		if fset.NArg() == 0 {
			break
		}
		words = append(words, fset.Arg(0))
		rest = fset.Args()[1:]
	}
	switch {
	case len(words) > 1:
		return a, fmt.Errorf("one QUERY expected, got %d", len(words))
	case len(words) == 0 && a.query.Service == "" && a.query.List == "":
		return a, errors.New("QUERY missing")
	case a.since != "" && (a.from != "" || a.to != ""):
		return a, errors.New("--since and --from/--to exclude each other")
	case a.query.Limit < 0:
		return a, errors.New("--limit must be positive")
	}
	if len(words) == 1 {
		a.query.Text = words[0]
	}
	if a.since != "" {
		d, err := config.ParseDuration(a.since)
		if err != nil || d <= 0 {
			return a, fmt.Errorf("--since %q: want a duration such as 2h or 7d", a.since)
		}
		a.query.From = time.Now().Add(-d.Std())
	}
	if a.from != "" {
		if a.query.From, err = trace.ParseTime(a.from, time.Local); err != nil {
			return a, fmt.Errorf("--from: %w", err)
		}
	}
	if a.to != "" {
		if a.query.To, err = trace.ParseTime(a.to, time.Local); err != nil {
			return a, fmt.Errorf("--to: %w", err)
		}
	}
	return a, nil
}

func runTrace(args []string, stdout, stderr io.Writer) int {
	a, err := parseTraceArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "posthorn trace: %v\n%s\n", err, traceUsage)
		return 2
	}
	cfg, err := loadConfig(a.config)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn trace:", err)
		return 1
	}
	path := filepath.Join(cfg.DataDir, "trace.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "posthorn trace: no trace database at %s: is posthorn serve running with this data_dir?\n", path)
		return 1
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		fmt.Fprintln(stderr, "posthorn trace:", err)
		return 1
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ms, err := trace.NewReader(db).Lookup(ctx, a.query)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn trace:", err)
		return 1
	}
	if a.asJSON {
		if ms == nil {
			ms = []trace.Message{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Messages []trace.Message `json:"messages"`
		}{ms}); err != nil {
			fmt.Fprintln(stderr, "posthorn trace:", err)
			return 1
		}
	} else {
		printTimeline(stdout, ms)
	}
	if len(ms) == 0 {
		fmt.Fprintf(stderr, "posthorn trace: no message matches %q\n", describe(a.query))
		return 1
	}
	return 0
}

// printTimeline writes each message as a header line and a table of its
// events, in local time.
func printTimeline(w io.Writer, ms []trace.Message) {
	for i, m := range ms {
		if i > 0 {
			fmt.Fprintln(w)
		}
		id := m.QueueID
		if id == "" {
			id = "(not queued)"
		}
		head := []string{"queue " + id}
		if m.MessageID != "" {
			head = append(head, "Message-ID "+m.MessageID)
		}
		if m.Service != "" {
			head = append(head, "service "+m.Service)
		}
		sender := m.Sender
		if sender == "" {
			sender = "<>"
		}
		head = append(head, "from "+sender)
		if len(m.Notices) > 0 {
			head = append(head, "notices "+strings.Join(m.Notices, ", "))
		}
		fmt.Fprintln(w, clean(strings.Join(head, "  ")))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  TIME\tEVENT\tRCPT\tUPSTREAM\tREPLY\tDETAILS")
		for _, e := range m.Events {
			kind := e.Kind
			if e.QueueID != m.QueueID {
				kind += " [notice " + e.QueueID[:min(8, len(e.QueueID))] + "]"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05.000"),
				clean(kind), dash(e.Rcpt), dash(e.Upstream), dash(e.Reply), clean(e.Details(time.Local)))
		}
		tw.Flush()
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

// clean makes a stored value safe for a terminal table: control
// characters (escape sequences, tabs, newlines) become spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

func describe(q trace.Query) string {
	parts := []string{}
	if q.Text != "" {
		parts = append(parts, q.Text)
	}
	if q.Service != "" {
		parts = append(parts, "service "+q.Service)
	}
	if q.List != "" {
		parts = append(parts, "list "+q.List)
	}
	return strings.Join(parts, ", ")
}
