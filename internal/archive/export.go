package archive

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"
)

// NumberHeader is the header field Export puts first in every message it
// writes, carrying the post's number, so that importing the export with
// KeepNumbers gives every post its number back, gaps of deleted posts
// included. Import removes it (the first occurrence) before archiving, so
// the content hash is the original's.
const NumberHeader = "X-Posthorn-Archive-Number"

// Sink receives exported messages: the entry and its raw message with the
// NumberHeader line first. The CLI writes them as mboxrd.
type Sink func(e *Entry, raw []byte) error

// exportBatch is how many posts Export reads at a time.
const exportBatch = 200

// Export hands every live post of list dated in [since, until) to sink, in
// number order. Zero times do not bound. Tombstones are skipped.
func (a *Archive) Export(ctx context.Context, list string, since, until time.Time, sink Sink) error {
	fail := func(err error) error { return &Error{Op: "export", List: list, Err: err} }
	lo, hi := int64(-1<<62), int64(1<<62)
	if !since.IsZero() {
		lo = since.Unix()
	}
	if !until.IsZero() {
		hi = until.Unix()
	}
	type post struct {
		e   *Entry
		raw []byte
	}
	last := NoNumber
	for {
		rows, err := a.db.QueryContext(ctx, `SELECT `+prefixedColumns("m.")+`, r.raw FROM archive_messages m
			JOIN archive_raw r ON r.id = m.id
			WHERE m.list = ? AND m.number > ? AND m.deleted_at IS NULL AND m.date >= ? AND m.date < ?
			ORDER BY m.number LIMIT ?`, list, last, lo, hi, exportBatch)
		if err != nil {
			return fail(err)
		}
		var batch []post
		for rows.Next() {
			var p post
			e, err := scanEntry(scanFunc(func(dst ...any) error { return rows.Scan(append(dst, &p.raw)...) }))
			if err != nil {
				rows.Close()
				return fail(err)
			}
			p.e = e
			batch = append(batch, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fail(err)
		}
		if len(batch) == 0 {
			return nil
		}
		for _, p := range batch {
			if err := sink(p.e, WithNumberHeader(p.raw, p.e.Number)); err != nil {
				return err
			}
		}
		last = batch[len(batch)-1].e.Number
	}
}

// WithNumberHeader returns raw with a NumberHeader line for n first, ending
// in CRLF if raw's first line does.
func WithNumberHeader(raw []byte, n int64) []byte {
	eol := "\n"
	if i := bytes.IndexByte(raw, '\n'); i > 0 && raw[i-1] == '\r' {
		eol = "\r\n"
	}
	out := make([]byte, 0, len(raw)+len(NumberHeader)+24)
	out = append(out, NumberHeader+": "+strconv.FormatInt(n, 10)+eol...)
	return append(out, raw...)
}

// StripNumberHeader removes the first NumberHeader field of raw's header
// and returns the rest, the number it carried and whether there was a valid
// one. raw is returned unchanged when there is none.
func StripNumberHeader(raw []byte) ([]byte, int64, bool) {
	pos := 0
	for pos < len(raw) {
		end := bytes.IndexByte(raw[pos:], '\n')
		if end < 0 {
			end = len(raw)
		} else {
			end += pos + 1
		}
		line := raw[pos:end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return raw, 0, false // end of header
		}
		name, value, ok := strings.Cut(string(line), ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), NumberHeader) {
			// Take in continuation lines too.
			for end < len(raw) && (raw[end] == ' ' || raw[end] == '\t') {
				next := bytes.IndexByte(raw[end:], '\n')
				if next < 0 {
					end = len(raw)
					break
				}
				value += string(raw[end : end+next+1])
				end += next + 1
			}
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || n < 0 {
				return raw, 0, false
			}
			out := make([]byte, 0, len(raw)-(end-pos))
			out = append(append(out, raw[:pos]...), raw[end:]...)
			return out, n, true
		}
		pos = end
	}
	return raw, 0, false
}
