package trace

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/posthorn/posthorn/internal/maillog"
)

var errClosed = errors.New("trace: store closed")

// headKinds are the event kinds that start a message's history; only they
// carry the Message-ID and sender indexes. A query must repeat this exact
// term for SQLite to use those partial indexes. The migration steps below
// spell it out and, being released, never change: a new set is a new index
// in a new step.
const headKinds = `kind IN ('accepted','decision','held','rejected')`

// migrations are the trace component's schema steps (append-only).
//
// Times are unix nanoseconds. Empty strings are stored as NULL so that the
// partial indexes skip them. Addresses and list names compare without case.
var migrations = []string{
	`CREATE TABLE events (
		id INTEGER PRIMARY KEY,
		time INTEGER NOT NULL,
		kind TEXT NOT NULL,
		queue_id TEXT,
		message_id TEXT,
		service TEXT,
		sender TEXT COLLATE NOCASE,
		rcpt TEXT COLLATE NOCASE,
		client TEXT,
		upstream TEXT,
		reply TEXT,
		stage TEXT,
		attempts INTEGER,
		delay_ms INTEGER,
		list TEXT COLLATE NOCASE,
		action TEXT,
		notice_id TEXT,
		extra TEXT
	)`,
	`CREATE INDEX events_queue ON events (queue_id) WHERE queue_id IS NOT NULL`,
	`CREATE INDEX events_message ON events (message_id) WHERE kind IN ('accepted','decision','held','rejected')`,
	`CREATE INDEX events_sender ON events (sender, time) WHERE kind IN ('accepted','decision','held','rejected')`,
	`CREATE INDEX events_rcpt ON events (rcpt, time) WHERE rcpt IS NOT NULL`,
	`CREATE INDEX events_service ON events (service, time) WHERE kind IN ('accepted','decision','held','rejected')`,
	`CREATE INDEX events_list ON events (list, time) WHERE list IS NOT NULL`,
	`CREATE INDEX events_notice ON events (notice_id) WHERE notice_id IS NOT NULL`,
}

// writerPragmas tune the writer's connection. Random queue ids and
// addresses dirty index pages all over the file, so a commit writes about
// one page per event to the WAL; a larger cache and a WAL checkpointed
// every 8192 pages (32 MB) instead of 1000 let a hot page be written back
// once for many commits, with fewer fsyncs. The WAL file is truncated back
// to 32 MB after a checkpoint.
var writerPragmas = []string{
	`PRAGMA cache_size = -16384`,
	`PRAGMA wal_autocheckpoint = 8192`,
	`PRAGMA journal_size_limit = 33554432`,
}

// insertRows is how many events one multi-row INSERT carries: fewer
// statement executions per event, far under SQLite's 32766 variables.
const insertRows = 64

// insertSQL inserts n events.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (time, kind, queue_id, message_id, service, sender, rcpt, client,
	upstream, reply, stage, attempts, delay_ms, list, action, notice_id, extra) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

const selectCols = `id, time, kind, queue_id, message_id, service, sender, rcpt, client,
	upstream, reply, stage, attempts, delay_ms, list, action, notice_id, extra`

// extra holds the fields that no lookup uses, as JSON.
type extra struct {
	Rcpts int      `json:"rcpts,omitempty"`
	Size  int64    `json:"size,omitempty"`
	Next  int64    `json:"next,omitempty"` // unix ns
	Rules []string `json:"rules,omitempty"`
	Maybe bool     `json:"maybe,omitempty"`
}

// insertArgs appends e's column values to args.
func insertArgs(args []any, e *maillog.Event) []any {
	x := extra{Rcpts: e.Rcpts, Size: e.Size, Rules: e.Rules, Maybe: e.Maybe}
	if !e.Next.IsZero() {
		x.Next = e.Next.UnixNano()
	}
	var ex any
	if x.Rcpts != 0 || x.Size != 0 || x.Next != 0 || len(x.Rules) > 0 || x.Maybe {
		b, _ := json.Marshal(x) // plain struct: cannot fail
		ex = string(b)
	}
	return append(args,
		e.Time.UnixNano(), string(e.Kind), null(e.QueueID), null(normMessageID(e.MessageID)),
		null(e.Service), null(e.From), null(e.Rcpt), null(e.Client), null(e.Upstream),
		null(e.Reply), null(e.Stage), nullInt(int64(e.Attempts)), nullInt(e.Delay.Milliseconds()),
		null(e.List), null(e.Action), null(e.NoticeID), ex,
	)
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// normMessageID is the Message-ID as stored and looked up: without
// surrounding space and angle brackets.
func normMessageID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	return strings.TrimSpace(s)
}
