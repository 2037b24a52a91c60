package trace

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Query selects messages. Exactly one key is used, the first set of Text,
// QueueID, MessageID, Address, List, Service; Service and List also filter
// the results of the other keys. From/To bound the time of the matching
// events for Address, List and Service searches (zero: unbounded).
type Query struct {
	// Text is what a person typed: a queue id (or a prefix of at least 8
	// hex digits), a Message-ID with or without <>, or an address.
	Text      string
	QueueID   string // exact, or a prefix of at least 8 hex digits
	MessageID string // with or without <>
	Address   string // envelope sender or recipient, without case
	From, To  time.Time
	Service   string
	List      string
	Limit     int // messages; default 50, at most 1000
}

const (
	defaultLimit = 50
	maxLimit     = 1000
	minPrefix    = 8
)

// QueryError is a query that cannot be run (nothing to look for).
type QueryError struct{ Reason string }

func (e *QueryError) Error() string { return "trace: " + e.Reason }

// Message is one message's history.
type Message struct {
	QueueID   string    `json:"queue_id,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	Service   string    `json:"service,omitempty"`
	Sender    string    `json:"sender,omitempty"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Notices   []string  `json:"notices,omitempty"` // queue ids of the notices it generated
	Events    []Event   `json:"events"`            // in time order, the notices' events included
}

// Event is one stored mail log event. QueueID differs from the message's
// for the events of a notice it generated.
type Event struct {
	// ID orders a message's events as they were recorded and is unique in
	// the store: its segment's id shifted left by 12 bits plus its index
	// in the segment.
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"`
	QueueID   string    `json:"queue_id,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	Service   string    `json:"service,omitempty"`
	Sender    string    `json:"sender,omitempty"`
	Rcpt      string    `json:"rcpt,omitempty"`
	Client    string    `json:"client,omitempty"`
	Upstream  string    `json:"upstream,omitempty"`
	Reply     string    `json:"reply,omitempty"`
	Stage     string    `json:"stage,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	DelayMS   int64     `json:"delay_ms,omitempty"`
	List      string    `json:"list,omitempty"`
	Action    string    `json:"action,omitempty"`
	NoticeID  string    `json:"notice_id,omitempty"`
	Rcpts     int       `json:"rcpts,omitempty"`
	Size      int64     `json:"size,omitempty"`
	Next      time.Time `json:"next,omitzero"`
	Rules     []string  `json:"rules,omitempty"`
	Maybe     bool      `json:"maybe_delivered,omitempty"`
}

// Reader looks messages up in a trace database. It works on a read-only
// handle (store.Open with ReadOnly), such as the CLI's on a live daemon's
// database.
type Reader struct {
	db *sql.DB
}

// NewReader returns a Reader over db, which must hold the trace schema.
func NewReader(db *sql.DB) *Reader { return &Reader{db: db} }

// Lookup returns the messages q selects, oldest first: the newest
// q.Limit matches.
func (r *Reader) Lookup(ctx context.Context, q Query) ([]Message, error) {
	if q.Limit <= 0 {
		q.Limit = defaultLimit
	}
	q.Limit = min(q.Limit, maxLimit)
	hits, err := r.find(ctx, &q)
	if err != nil {
		return nil, err
	}
	return r.collect(ctx, &q, hits)
}

// hit is a matching event: its message's queue id, or for an event about
// no queued message (a rejection) the event itself.
type hit struct {
	queueID string
	id      int64
	time    int64
}

func (r *Reader) find(ctx context.Context, q *Query) ([]hit, error) {
	text := strings.TrimSpace(q.Text)
	switch {
	case text != "" && strings.Contains(text, "@"):
		h, err := r.byMessageID(ctx, text, q.Limit)
		if err != nil || len(h) > 0 {
			return h, err
		}
		return r.byAddress(ctx, q, strings.Trim(text, "<>"))
	case text != "" && strings.HasPrefix(text, "<"):
		return r.byMessageID(ctx, text, q.Limit)
	case text != "":
		return r.byQueueID(ctx, text, q.Limit)
	case q.QueueID != "":
		return r.byQueueID(ctx, strings.TrimSpace(q.QueueID), q.Limit)
	case q.MessageID != "":
		return r.byMessageID(ctx, q.MessageID, q.Limit)
	case q.Address != "":
		return r.byAddress(ctx, q, strings.Trim(strings.TrimSpace(q.Address), "<>"))
	case q.List != "":
		return r.hits(ctx, `SELECT queue_id, id, time FROM segments WHERE list = ?`+window(q, "time")+
			` ORDER BY time DESC LIMIT ?`, windowArgs(q, q.List)...)
	case q.Service != "":
		return r.hits(ctx, `SELECT queue_id, id, time FROM segments WHERE service = ?`+window(q, "time")+
			` ORDER BY time DESC LIMIT ?`, windowArgs(q, q.Service)...)
	}
	return nil, &QueryError{Reason: "nothing to look for: give a queue id, Message-ID, address, list or service"}
}

func (r *Reader) byQueueID(ctx context.Context, id string, limit int) ([]hit, error) {
	h, err := r.hits(ctx, `SELECT queue_id, id, time FROM segments WHERE queue_id = ? LIMIT 1`, id)
	if err != nil || len(h) > 0 || len(id) < minPrefix || !isHex(id) {
		return h, err
	}
	id = strings.ToLower(id)
	// A prefix: every distinct queue id in [id, id+"~"), "~" sorting
	// after every hex digit.
	h, err = r.hits(ctx, `SELECT queue_id, max(id), max(time) FROM segments WHERE queue_id >= ? AND queue_id < ?
		GROUP BY queue_id LIMIT ?`, id, id+"~", limit)
	slices.SortFunc(h, func(a, b hit) int { return int(sign(b.time - a.time)) })
	return h, err
}

func (r *Reader) byMessageID(ctx context.Context, mid string, limit int) ([]hit, error) {
	mid = normMessageID(mid)
	if mid == "" {
		return nil, nil
	}
	return r.hits(ctx, `SELECT queue_id, id, time FROM segments WHERE message_id = ?
		ORDER BY time DESC LIMIT ?`, mid, limit)
}

// byAddress finds the messages sent from or to addr, newest first.
func (r *Reader) byAddress(ctx context.Context, q *Query, addr string) ([]hit, error) {
	if addr == "" {
		return nil, nil
	}
	from, err := r.hits(ctx, `SELECT queue_id, id, time FROM segments WHERE sender = ?`+window(q, "time")+
		` ORDER BY time DESC LIMIT ?`, windowArgs(q, addr)...)
	if err != nil {
		return nil, err
	}
	to, err := r.hits(ctx, `SELECT s.queue_id, s.id, r.time FROM rcpts r JOIN segments s ON s.id = r.segment
		WHERE r.addr = ?`+window(q, "r.time")+` ORDER BY r.time DESC LIMIT ?`, windowArgs(q, addr)...)
	if err != nil {
		return nil, err
	}
	all := append(from, to...)
	slices.SortFunc(all, func(a, b hit) int { return int(sign(b.time - a.time)) })
	return all, nil
}

// window is the condition on col for q's From and To.
func window(q *Query, col string) string {
	s := ""
	if !q.From.IsZero() {
		s += " AND " + col + " >= ?"
	}
	if !q.To.IsZero() {
		s += " AND " + col + " < ?"
	}
	return s
}

func windowArgs(q *Query, key string) []any {
	a := []any{key}
	if !q.From.IsZero() {
		a = append(a, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		a = append(a, q.To.UnixNano())
	}
	// Several segments of one message can match (one per write).
	return append(a, q.Limit*8)
}

func (r *Reader) hits(ctx context.Context, query string, args ...any) ([]hit, error) {
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("trace: lookup: %w", err)
	}
	defer rows.Close()
	var out []hit
	for rows.Next() {
		var h hit
		var qid sql.NullString
		if err := rows.Scan(&qid, &h.id, &h.time); err != nil {
			return nil, fmt.Errorf("trace: lookup: %w", err)
		}
		h.queueID = qid.String
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trace: lookup: %w", err)
	}
	return out, nil
}

// collect turns hits (newest first) into at most q.Limit messages, each
// widened to its root message (the one that generated a notice) with all
// its events, and returns them oldest first.
func (r *Reader) collect(ctx context.Context, q *Query, hits []hit) ([]Message, error) {
	var out []Message
	seen := map[string]bool{}
	for _, h := range hits {
		if len(out) >= q.Limit {
			break
		}
		var m Message
		if h.queueID == "" {
			evs, err := r.events(ctx, `SELECT id, time, queue_id, events FROM segments WHERE id = ?`, h.id)
			if err != nil {
				return nil, err
			}
			m = Message{Events: evs}
		} else {
			root, err := r.root(ctx, h.queueID)
			if err != nil {
				return nil, err
			}
			if seen[root] {
				continue
			}
			seen[root] = true
			if m, err = r.message(ctx, root); err != nil {
				return nil, err
			}
		}
		if len(m.Events) == 0 || !matches(q, &m) {
			continue
		}
		fill(&m)
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b Message) int { return a.First.Compare(b.First) })
	return out, nil
}

// root follows notice links upwards: the message whose notice queueID is.
func (r *Reader) root(ctx context.Context, queueID string) (string, error) {
	for range 4 { // a notice of a notice at most; bounded against loops
		var parent sql.NullString
		err := r.db.QueryRowContext(ctx, `SELECT parent FROM segments WHERE queue_id = ? AND parent IS NOT NULL LIMIT 1`,
			queueID).Scan(&parent)
		if err == sql.ErrNoRows || (err == nil && (!parent.Valid || parent.String == queueID)) {
			return queueID, nil
		}
		if err != nil {
			return "", fmt.Errorf("trace: lookup: %w", err)
		}
		queueID = parent.String
	}
	return queueID, nil
}

// message reads queueID's events and those of its notices.
func (r *Reader) message(ctx context.Context, queueID string) (Message, error) {
	m := Message{QueueID: queueID}
	ids := []string{queueID}
	done := map[string]bool{}
	for i := 0; i < len(ids) && i < 16; i++ {
		if done[ids[i]] {
			continue
		}
		done[ids[i]] = true
		evs, err := r.events(ctx, `SELECT id, time, queue_id, events FROM segments WHERE queue_id = ? ORDER BY id`, ids[i])
		if err != nil {
			return m, err
		}
		for _, e := range evs {
			if e.NoticeID != "" && !done[e.NoticeID] {
				ids = append(ids, e.NoticeID)
				m.Notices = append(m.Notices, e.NoticeID)
			}
		}
		m.Events = append(m.Events, evs...)
	}
	slices.SortStableFunc(m.Events, func(a, b Event) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return int(sign(a.ID - b.ID))
	})
	return m, nil
}

// fill sets the message's summary fields from its own events.
func fill(m *Message) {
	for _, e := range m.Events {
		if e.QueueID != m.QueueID {
			continue
		}
		if m.MessageID == "" {
			m.MessageID = e.MessageID
		}
		if m.Service == "" {
			m.Service = e.Service
		}
		if m.Sender == "" {
			m.Sender = e.Sender
		}
	}
	m.First = m.Events[0].Time
	m.Last = m.Events[len(m.Events)-1].Time
}

// matches applies the Service and List filters.
func matches(q *Query, m *Message) bool {
	if q.Service != "" {
		ok := false
		for _, e := range m.Events {
			if e.QueueID == m.QueueID && strings.EqualFold(e.Service, q.Service) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if q.List != "" {
		return slices.ContainsFunc(m.Events, func(e Event) bool { return strings.EqualFold(e.List, q.List) })
	}
	return true
}

// events decodes the segments query selects (id, time, queue_id, events).
func (r *Reader) events(ctx context.Context, query string, args ...any) ([]Event, error) {
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("trace: lookup: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var id, t int64
		var qid sql.NullString
		var blob []byte
		if err := rows.Scan(&id, &t, &qid, &blob); err != nil {
			return nil, fmt.Errorf("trace: lookup: %w", err)
		}
		if out, err = decodeSegment(out, id, t, qid.String, blob); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trace: lookup: %w", err)
	}
	return out, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func sign(n int64) int64 {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
