package trace

import (
	"errors"
	"strings"

	"github.com/posthorn/posthorn/internal/maillog"
)

var errClosed = errors.New("trace: store closed")

// migrations are the trace component's schema steps (append-only).
//
// Steps 1–8 are the first layout, one indexed row per event (table
// events); they stay for databases that have not applied them yet. Step 9
// onwards is the current layout, and step 17 drops the first layout's
// table with whatever it held: traces are kept for days, and the
// statements to copy millions of events would hold up the daemon's start
// for longer than they are worth. The dropped table's pages are reused by
// the new tables; the file does not shrink.
//
// Current layout: a segment is one write's events of one message (all of
// them, in the common case that a message is received, delivered and
// removed within one write), encoded in one blob (see codec.go) and found
// through the segment's indexed columns: queue id; Message-ID, sender and
// service of the events that start a message (headKind); list; and the
// recipients, one rcpts row per distinct recipient. A notice's link to the
// message that generated it is an empty segment under the notice's queue
// id whose parent is that message's queue id (index segments_link).
//
// Times are unix nanoseconds; time is the segment's earliest event, or for
// a recipient its earliest event in the segment. Empty strings are stored
// as NULL so that the partial indexes skip them. Addresses and list names
// compare without case. upto is the number of events written up to and
// including the segment, so that MaxEvents is enforced without counting.
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
	// 9: the current layout.
	`CREATE TABLE segments (
		id INTEGER PRIMARY KEY,
		time INTEGER NOT NULL,
		queue_id TEXT,
		message_id TEXT,
		sender TEXT COLLATE NOCASE,
		service TEXT,
		list TEXT COLLATE NOCASE,
		parent TEXT,
		n INTEGER NOT NULL,
		upto INTEGER NOT NULL,
		events BLOB NOT NULL
	)`,
	`CREATE INDEX segments_queue ON segments (queue_id) WHERE queue_id IS NOT NULL`,
	`CREATE INDEX segments_message ON segments (message_id) WHERE message_id IS NOT NULL`,
	`CREATE INDEX segments_sender ON segments (sender, time) WHERE sender IS NOT NULL`,
	`CREATE INDEX segments_service ON segments (service, time) WHERE service IS NOT NULL`,
	`CREATE INDEX segments_list ON segments (list, time) WHERE list IS NOT NULL`,
	`CREATE TABLE rcpts (
		id INTEGER PRIMARY KEY,
		addr TEXT NOT NULL COLLATE NOCASE,
		time INTEGER NOT NULL,
		segment INTEGER NOT NULL
	)`,
	`CREATE INDEX rcpts_addr ON rcpts (addr, time, segment)`,
	// 17: the first layout's events are dropped (see above).
	`DROP TABLE events`,
	// 18: a notice's link to its message without reading its segments.
	`CREATE INDEX segments_link ON segments (queue_id, parent) WHERE parent IS NOT NULL`,
}

// writerPragmas tune the writer's connection. A larger cache (8 MiB: 16
// MiB wrote 5-10 % faster in BenchmarkWriteRelay, but the relay must stay
// under 100 MB resident with 100,000 messages queued) and a WAL
// checkpointed every 8192 pages (32 MB) instead of 1000 let a hot index
// page be written back once for many commits, with fewer fsyncs. The WAL
// file is truncated back to 32 MB after a checkpoint. Temporary storage
// (a statement journal, if SQLite still wants one) stays in memory instead
// of costing file writes. store.Open already
// sets synchronous=NORMAL: a commit is not fsynced, only checkpoints are.
var writerPragmas = []string{
	`PRAGMA cache_size = -8192`,
	`PRAGMA wal_autocheckpoint = 8192`,
	`PRAGMA journal_size_limit = 33554432`,
	`PRAGMA temp_store = MEMORY`,
}

// headKind says whether events of kind k start a message's history: only
// they set a segment's Message-ID, sender and service.
func headKind(k maillog.Kind) bool {
	switch k {
	case maillog.Accepted, maillog.Decision, maillog.Held, maillog.Rejected:
		return true
	}
	return false
}

// insertRows is how many rows one multi-row INSERT carries: fewer
// statement executions per row, far under SQLite's 32766 variables.
const insertRows = 64

// insertSQL is an INSERT of n rows into table's cols. OR ROLLBACK: a
// failed insert ends the write's transaction (which is what the writer
// does anyway), so SQLite need not journal each statement to undo it
// alone, which costs a write of every page it changes.
func insertSQL(table, cols string, n int) string {
	ncols := strings.Count(cols, ",") + 1
	row := "(?" + strings.Repeat(",?", ncols-1) + ")"
	var b strings.Builder
	b.WriteString("INSERT OR ROLLBACK INTO " + table + " (" + cols + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

const (
	segmentCols = `id, time, queue_id, message_id, sender, service, list, parent, n, upto, events`
	rcptCols    = `addr, time, segment`
)

// normMessageID is the Message-ID as stored and looked up: without
// surrounding space and angle brackets.
func normMessageID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	return strings.TrimSpace(s)
}
