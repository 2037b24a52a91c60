package archive

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// storedMsg is a post loaded for threading with its current place.
type storedMsg struct {
	threadMsg
	place
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anyArgs[T any](list string, vs []T) []any {
	args := make([]any, 0, len(vs)+1)
	args = append(args, list)
	for _, v := range vs {
		args = append(args, v)
	}
	return args
}

// threadNew threads a post just inserted: it re-threads the threads the
// post can touch — those holding a post it references, those holding a post
// that references it or shares a reference with it, and those with posts of
// the same base subject near its date (and, in a few rounds, near the dates
// of the replies and roots of the threads found) — and stores the places
// that changed.
func (a *Archive) threadNew(ctx context.Context, tx *sql.Tx, list string, m threadMsg) error {
	tids := map[int64]bool{m.number: true}
	collect := func(query string, args ...any) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t int64
			if err := rows.Scan(&t); err != nil {
				return err
			}
			tids[t] = true
		}
		return rows.Err()
	}
	ids := append([]string(nil), m.refs...)
	if m.messageID != "" {
		ids = append(ids, m.messageID)
	}
	if len(ids) > 0 {
		if err := collect(`SELECT thread_id FROM archive_messages INDEXED BY archive_messages_mid WHERE list = ? AND message_id IN (`+placeholders(len(ids))+`)`,
			anyArgs(list, ids)...); err != nil {
			return err
		}
		if err := collect(`SELECT m.thread_id FROM archive_refs r INDEXED BY archive_refs_ref JOIN archive_messages m ON m.id = r.msg
			WHERE r.list = ? AND r.ref IN (`+placeholders(len(ids))+`)`, anyArgs(list, ids)...); err != nil {
			return err
		}
	}
	// Subject fallback reaches further: a post of these threads may join
	// (or leave) a thread of the same base subject. Follow base subjects
	// until no new thread turns up, a bounded number of rounds (Rethread
	// settles anything beyond).
	span := int64((a.window + 24*time.Hour) / time.Second)
	seen := map[string]bool{}
	lo, hi := map[string]int64{m.base: m.date}, map[string]int64{m.base: m.date}
	var msgs []storedMsg
	for round := 0; ; round++ {
		for base := range lo {
			if base == "" || seen[base] {
				continue
			}
			seen[base] = true
			if err := collect(`SELECT thread_id FROM archive_messages INDEXED BY archive_messages_subject WHERE list = ? AND base_subject = ?
				AND date BETWEEN ? AND ?`, list, base, lo[base]-span, hi[base]+span); err != nil {
				return err
			}
		}
		keys := make([]int64, 0, len(tids))
		for t := range tids {
			keys = append(keys, t)
		}
		var err error
		msgs, err = loadThreadMsgs(ctx, tx, `list = ? AND thread_id IN (`+placeholders(len(keys))+`)`, anyArgs(list, keys)...)
		if err != nil {
			return err
		}
		if round == 3 {
			break
		}
		lo, hi = map[string]int64{}, map[string]int64{}
		for _, s := range msgs {
			if s.base == "" || seen[s.base] || (!s.isReply && s.parent != NoNumber) {
				continue
			}
			if d, ok := lo[s.base]; !ok || s.date < d {
				lo[s.base] = s.date
			}
			if d, ok := hi[s.base]; !ok || s.date > d {
				hi[s.base] = s.date
			}
		}
		if len(lo) == 0 {
			break
		}
	}
	return a.storePlaces(ctx, tx, msgs)
}

func loadThreadMsgs(ctx context.Context, q querier, where string, args ...any) ([]storedMsg, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, number, message_id, refs, base_subject, is_reply, date,
		thread_id, parent_number, depth FROM archive_messages WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedMsg
	for rows.Next() {
		var s storedMsg
		var refs string
		if err := rows.Scan(&s.id, &s.number, &s.messageID, &refs, &s.base, &s.isReply, &s.date,
			&s.threadID, &s.parent, &s.depth); err != nil {
			return nil, err
		}
		s.refs = strings.Fields(refs)
		out = append(out, s)
	}
	return out, rows.Err()
}

// storePlaces threads msgs and writes the places that changed.
func (a *Archive) storePlaces(ctx context.Context, q querier, msgs []storedMsg) error {
	tms := make([]threadMsg, len(msgs))
	for i := range msgs {
		tms[i] = msgs[i].threadMsg
	}
	places := computeThreads(tms, a.window)
	for _, s := range msgs {
		p := places[s.id]
		if p == s.place {
			continue
		}
		if _, err := q.ExecContext(ctx, `UPDATE archive_messages SET thread_id = ?, parent_number = ?, depth = ? WHERE id = ?`,
			p.threadID, p.parent, p.depth, s.id); err != nil {
			return err
		}
	}
	return nil
}

// Rethread recomputes the threads of every post of list from the stored
// headers. It writes thread_id, parent_number and depth only; numbers and
// permalinks are never touched.
func (a *Archive) Rethread(ctx context.Context, list string) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return &Error{Op: "rethread", List: list, Err: err}
	}
	defer tx.Rollback()
	if err := lockList(ctx, tx, list); err != nil {
		return &Error{Op: "rethread", List: list, Err: err}
	}
	msgs, err := loadThreadMsgs(ctx, tx, `list = ?`, list)
	if err != nil {
		return &Error{Op: "rethread", List: list, Err: err}
	}
	if err := a.storePlaces(ctx, tx, msgs); err != nil {
		return &Error{Op: "rethread", List: list, Err: err}
	}
	if err := tx.Commit(); err != nil {
		return &Error{Op: "rethread", List: list, Err: err}
	}
	return nil
}

// ThreadNode is a post in a thread tree; Entry is nil for a post that was
// referenced but never archived (the common parent of several top-level
// replies). A deleted post appears as its tombstone.
type ThreadNode struct {
	Entry    *Entry
	Children []*ThreadNode
}

// Thread is one thread of a listing.
type Thread struct {
	ID          int64 // Entry.ThreadID of its posts
	Root        *ThreadNode
	Count       int // live posts in the listing
	First, Last time.Time
}

// Threads returns the threads of the posts dated in [from, until), each
// as a tree of those posts (a post whose parent falls outside the range is
// shown at the top), ordered by their first post.
func (a *Archive) Threads(ctx context.Context, list string, from, until time.Time) ([]*Thread, error) {
	es, err := listEntries(ctx, a.db, `SELECT `+entryColumns+` FROM archive_messages
		WHERE list = ? AND date >= ? AND date < ? ORDER BY date, number`, list, from.Unix(), until.Unix())
	if err != nil {
		return nil, &Error{Op: "threads", List: list, Err: err}
	}
	byThread := map[int64][]*Entry{}
	var order []int64
	for _, e := range es {
		if _, ok := byThread[e.ThreadID]; !ok {
			order = append(order, e.ThreadID)
		}
		byThread[e.ThreadID] = append(byThread[e.ThreadID], e)
	}
	var out []*Thread
	for _, tid := range order {
		t := buildThread(tid, byThread[tid])
		if t.Count > 0 {
			out = append(out, t)
		}
	}
	return out, nil
}

// buildThread makes the tree of es (sorted by date) from their parents.
func buildThread(tid int64, es []*Entry) *Thread {
	t := &Thread{ID: tid}
	nodes := make(map[int64]*ThreadNode, len(es))
	for _, e := range es {
		nodes[e.Number] = &ThreadNode{Entry: e}
	}
	var tops []*ThreadNode
	for _, e := range es {
		n := nodes[e.Number]
		if p, ok := nodes[e.ParentNumber]; ok && e.ParentNumber != NoNumber {
			p.Children = append(p.Children, n)
		} else {
			tops = append(tops, n)
		}
		if !e.Deleted {
			t.Count++
			if t.First.IsZero() {
				t.First = e.Date
			}
			t.Last = e.Date
		}
	}
	if len(tops) == 1 {
		t.Root = tops[0]
	} else {
		t.Root = &ThreadNode{Children: tops}
	}
	return t
}

// threadOrder returns the live posts of a thread in tree order.
func (a *Archive) threadOrder(ctx context.Context, list string, tid int64) ([]int64, error) {
	es, err := listEntries(ctx, a.db, `SELECT `+entryColumns+` FROM archive_messages
		WHERE list = ? AND thread_id = ? ORDER BY date, number`, list, tid)
	if err != nil {
		return nil, &Error{Op: "neighbours", List: list, Err: err}
	}
	var out []int64
	var walk func(n *ThreadNode)
	walk = func(n *ThreadNode) {
		if n.Entry != nil && !n.Entry.Deleted {
			out = append(out, n.Entry.Number)
		}
		for _, k := range n.Children {
			walk(k)
		}
	}
	walk(buildThread(tid, es).Root)
	return out, nil
}
