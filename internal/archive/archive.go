package archive

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/store"
)

// NoNumber stands for "no message" where a number is expected (no parent,
// no previous message). Real numbers are never negative.
const NoNumber int64 = -1

// Options configure an Archive.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives notes such as a Message-ID reused with different
	// content; slog.Default() when nil.
	Logger *slog.Logger
	// SearchText extracts the text indexed for full-text search from a raw
	// message. When nil, DefaultSearchText (subject and the first
	// text/plain part as it is) is used.
	SearchText func(raw []byte) string
	// SubjectWindow bounds subject-only threading: a reply without a found
	// parent joins a thread started at most this long before it. 60 days
	// when zero.
	SubjectWindow time.Duration
}

// Archive is the store of every list's archived posts, in a SQLite
// database opened by the caller with store.Open (data_dir/archive.db).
type Archive struct {
	db         *sql.DB
	now        func() time.Time
	log        *slog.Logger
	searchText func([]byte) string
	window     time.Duration
	// writeMu serialises writers of this process, so that the counter
	// read-modify-write of two goroutines never interleaves; SQLite's
	// write lock does the same across processes.
	writeMu sync.Mutex
}

// New applies the "archive" migrations to db and returns an Archive over it.
func New(ctx context.Context, db *sql.DB, opts Options) (*Archive, error) {
	if err := store.Migrate(ctx, db, "archive", migrations()); err != nil {
		return nil, err
	}
	a := &Archive{db: db, now: opts.Now, log: opts.Logger, searchText: opts.SearchText, window: opts.SubjectWindow}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.searchText == nil {
		a.searchText = DefaultSearchText
	}
	if a.window <= 0 {
		a.window = 60 * 24 * time.Hour
	}
	return a, nil
}

// Entry is one archived post (or the tombstone of a deleted one).
type Entry struct {
	List      string
	Number    int64  // permanent, per list
	Permalink string // permanent, per list: short hash of the Message-ID
	MessageID string // without angle brackets; "" when the post had none
	Subject   string // decoded
	FromName  string
	FromAddr  string // lowercase
	Date      time.Time
	Received  time.Time
	// ThreadID is the number of the thread's first top-level post;
	// ParentNumber the nearest archived ancestor (NoNumber at the top);
	// Depth the count of archived ancestors. All three are derived by
	// threading and may change when a late parent arrives or on Rethread.
	ThreadID     int64
	ParentNumber int64
	Depth        int
	Size         int64 // bytes of the raw message (0 for a tombstone)
	LegacyPath   string
	// ParseError is set when the headers could not be parsed; the post is
	// archived raw anyway.
	ParseError    string
	Deleted       bool
	DeletedAt     time.Time
	DeletedReason string
	DeletedBy     string
}

// Page selects a slice of a listing.
type Page struct {
	Limit  int // 50 when zero or negative
	Offset int
}

func (p Page) limit() int {
	if p.Limit <= 0 {
		return 50
	}
	return p.Limit
}

// Error is returned by every operation that failed on the database or on
// its input. Op names the operation ("add", "get", ...).
type Error struct {
	Op   string
	List string
	Err  error
}

func (e *Error) Error() string {
	if e.List == "" {
		return fmt.Sprintf("archive: %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("archive: %s %s: %v", e.Op, e.List, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// NotFoundError says that a list has no post at that address.
type NotFoundError struct {
	List string
	Key  string // the number, permalink or path looked up
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("archive: %s: no message %s", e.List, e.Key)
}

// NumberTakenError says that a number asked for (AddOptions.KeepNumber)
// already belongs to another post of the list, live or deleted.
type NumberTakenError struct {
	List   string
	Number int64
	By     string // permalink of the post holding it
}

func (e *NumberTakenError) Error() string {
	return fmt.Sprintf("archive: %s: number %d is taken by message %s", e.List, e.Number, e.By)
}

// DeletedError says that the raw content of a post is gone: it was deleted.
type DeletedError struct {
	List   string
	Number int64
}

func (e *DeletedError) Error() string {
	return fmt.Sprintf("archive: %s: message %d was deleted", e.List, e.Number)
}
