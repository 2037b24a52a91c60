package archive

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// Snippet markers: Hit.Snippet surrounds each matched term with
// SnippetStart and SnippetEnd, so that a page can escape the text and then
// turn the markers into highlighting.
const (
	SnippetStart = "\x02"
	SnippetEnd   = "\x03"
)

// MaxCount caps the total Search counts; a larger result reports
// MaxCount+1 ("more than MaxCount").
const MaxCount = 10000

// Query selects posts for Search. Empty fields do not filter.
type Query struct {
	List   string
	Words  string // words that must all occur (subject, author or body); "word*" matches a prefix
	From   string // an address (exact, when it contains "@") or part of a name or address
	Since  time.Time
	Until  time.Time // exclusive
	Limit  int       // 20 when zero or negative
	Offset int
}

// Hit is one search result.
type Hit struct {
	Entry   *Entry
	Snippet string // body text around the matches, see SnippetStart
}

// index adds a post to the full-text index.
func (a *Archive) index(ctx context.Context, q querier, id int64, subject, name, addr string, raw []byte) error {
	_, err := q.ExecContext(ctx, `INSERT INTO archive_fts (rowid, subject, author, body) VALUES (?, ?, ?, ?)`,
		id, subject, strings.TrimSpace(name+" "+addr), a.searchText(raw))
	return err
}

// matchExpr turns user words into an FTS5 expression: every word quoted
// (so that no FTS5 syntax can be injected), all required.
func matchExpr(words string) string {
	var terms []string
	for _, w := range strings.Fields(words) {
		prefix := strings.HasSuffix(w, "*")
		w = strings.ReplaceAll(strings.TrimRight(w, "*"), `"`, `""`)
		if w == "" {
			continue
		}
		t := `"` + w + `"`
		if prefix {
			t += "*"
		}
		terms = append(terms, t)
	}
	return strings.Join(terms, " ")
}

// Search returns live posts matching q, newest archived first, and their
// total count (capped, see MaxCount).
func (a *Archive) Search(ctx context.Context, q Query) ([]*Hit, int, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	var conds []string
	var args []any
	match := matchExpr(q.Words)
	from := `archive_messages m`
	snippet := `''`
	order := `m.id DESC`
	if match != "" {
		from = `archive_fts JOIN archive_messages m ON m.id = archive_fts.rowid`
		conds = append(conds, `archive_fts MATCH ?`)
		args = append(args, match)
		snippet = `snippet(archive_fts, -1, '` + SnippetStart + `', '` + SnippetEnd + `', '…', 16)`
		order = `archive_fts.rowid DESC`
	}
	conds = append(conds, `m.deleted_at IS NULL`)
	if q.List != "" {
		conds = append(conds, `m.list = ?`)
		args = append(args, q.List)
	}
	if f := strings.ToLower(strings.TrimSpace(q.From)); f != "" {
		if strings.Contains(f, "@") {
			conds = append(conds, `m.from_addr = ?`)
			args = append(args, f)
		} else {
			like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f) + "%"
			conds = append(conds, `(m.from_addr LIKE ? ESCAPE '\' OR lower(m.from_name) LIKE ? ESCAPE '\')`)
			args = append(args, like, like)
		}
	}
	if !q.Since.IsZero() {
		conds = append(conds, `m.date >= ?`)
		args = append(args, q.Since.Unix())
	}
	if !q.Until.IsZero() {
		conds = append(conds, `m.date < ?`)
		args = append(args, q.Until.Unix())
	}
	where := ` FROM ` + from + ` WHERE ` + strings.Join(conds, " AND ")
	cols := prefixedColumns("m.")
	rows, err := a.db.QueryContext(ctx, `SELECT `+cols+`, `+snippet+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, limit, q.Offset)...)
	if err != nil {
		return nil, 0, &Error{Op: "search", List: q.List, Err: err}
	}
	defer rows.Close()
	var hits []*Hit
	for rows.Next() {
		h := &Hit{}
		var sn sql.NullString
		e, err := scanEntry(scanFunc(func(dst ...any) error { return rows.Scan(append(dst, &sn)...) }))
		if err != nil {
			return nil, 0, &Error{Op: "search", List: q.List, Err: err}
		}
		h.Entry, h.Snippet = e, sn.String
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, &Error{Op: "search", List: q.List, Err: err}
	}
	var total int
	if err := a.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1`+where+` LIMIT ?)`,
		append(args, MaxCount+1)...).Scan(&total); err != nil {
		return nil, 0, &Error{Op: "search", List: q.List, Err: err}
	}
	return hits, total, nil
}

type scanFunc func(dst ...any) error

func (f scanFunc) Scan(dst ...any) error { return f(dst...) }

// reindexBatch is how many posts Reindex reads at a time.
const reindexBatch = 500

// Reindex rebuilds list's full-text index, and the subject and author
// columns, from the archived raw messages. Numbers, permalinks and threads
// are not touched.
func (a *Archive) Reindex(ctx context.Context, list string) error {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	fail := func(err error) error { return &Error{Op: "reindex", List: list, Err: err} }
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if err := lockList(ctx, tx, list); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM archive_fts WHERE rowid IN (SELECT id FROM archive_messages WHERE list = ?)`, list); err != nil {
		return fail(err)
	}
	type post struct {
		id  int64
		raw []byte
	}
	var last int64
	for {
		rows, err := tx.QueryContext(ctx, `SELECT m.id, r.raw FROM archive_messages m JOIN archive_raw r ON r.id = m.id
			WHERE m.list = ? AND m.id > ? AND m.deleted_at IS NULL ORDER BY m.id LIMIT ?`, list, last, reindexBatch)
		if err != nil {
			return fail(err)
		}
		var batch []post
		for rows.Next() {
			var p post
			if err := rows.Scan(&p.id, &p.raw); err != nil {
				rows.Close()
				return fail(err)
			}
			batch = append(batch, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fail(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, p := range batch {
			h := parseHeader(p.raw)
			if _, err := tx.ExecContext(ctx, `UPDATE archive_messages SET subject = ?, base_subject = ?, is_reply = ?,
				from_name = ?, from_addr = ? WHERE id = ?`, h.subject, h.base, h.isReply, h.fromName, h.fromAddr, p.id); err != nil {
				return fail(err)
			}
			if err := a.index(ctx, tx, p.id, h.subject, h.fromName, h.fromAddr, p.raw); err != nil {
				return fail(err)
			}
		}
		last = batch[len(batch)-1].id
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}
