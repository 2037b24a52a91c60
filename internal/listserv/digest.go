package listserv

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// Digests.
//
// Members in digest mode (lists.ModeDigest) of a list with digest_enabled
// do not get each post; startDist keeps a copy of the post (as distributed,
// without header and footer) as a digest entry. Tick looks at each list's
// waiting entries:
//
//	entries (issue 0) ─ size ≥ digest_size_threshold KB, or oldest older
//	                    than digest_interval, and no issue of the list
//	                    still sending ─▶ numbered: volume V, issue N (one
//	                    transaction: entries tagged, MIME digest stored,
//	                    state sending)
//	sending ─ fan-out of the MIME form to digest members whose
//	          DigestFormat is mime (dist key digest:V:N), then of the
//	          plain form to those whose DigestFormat is plain (key
//	          digest:V:N:plain), cursors as for posts
//	        ─▶ done (entries and stored digest deleted)
//
// The issue number is taken, and the MIME digest built and stored, before
// any copy goes out. The plain form is built when it is sent, from the
// entries of the issue (kept until the issue is done), with a Message-ID
// derived from the MIME one and the issue's creation time as its date, so
// a rebuild after a crash gives the same message. After a crash Tick
// resumes the fan-outs from their cursors, so no member gets an issue
// twice (beyond the page in flight, as for posts) and numbers never
// repeat. Both forms carry the same volume and issue number.
//
// Numbering: the first issue of a list is volume 1, issue 1; each issue
// takes the next number, and the first issue in a new calendar year (UTC)
// starts the next volume at issue 1 (Mailman's yearly volumes). The MIME
// form is described in digest_mime.go, the plain one in digest_plain.go.

// digestMaxEntries bounds the posts in one issue; more wait for the next.
const digestMaxEntries = 500

type digestEntry struct {
	subject, sender string
	raw             []byte
}

// digestIssue names one issue of a list's digest.
type digestIssue struct {
	volume, issue int
	msgID         string
	date          time.Time
}

// title is the digest's subject, also its closing line's subject.
func (d digestIssue) title(name string) string {
	return fmt.Sprintf("%s Digest, Vol %d, Issue %d", name, d.volume, d.issue)
}

// digests resumes unfinished issues, then starts those that are due.
func (s *Server) digests(ctx context.Context) error {
	var errs []error
	type sending struct {
		list          string
		volume, issue int
	}
	var resume []sending
	rows, err := s.opts.DB.QueryContext(ctx, `SELECT list, volume, issue FROM listserv_digest WHERE state = 'sending'`)
	if err != nil {
		return fmt.Errorf("listserv: digests: %w", err)
	}
	for rows.Next() {
		var d sending
		if err := rows.Scan(&d.list, &d.volume, &d.issue); err != nil {
			rows.Close()
			return fmt.Errorf("listserv: digests: %w", err)
		}
		resume = append(resume, d)
	}
	rows.Close()
	for _, d := range resume {
		if err := s.sendIssue(ctx, d.list, d.volume, d.issue); err != nil {
			errs = append(errs, fmt.Errorf("digest %s %d/%d: %w", d.list, d.volume, d.issue, err))
		}
	}
	due, err := s.dueDigests(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, list := range due {
		if err := s.SendDigest(ctx, list); err != nil {
			errs = append(errs, fmt.Errorf("digest %s: %w", list, err))
		}
	}
	return errors.Join(errs...)
}

// dueDigests returns the lists whose waiting entries reached the size or
// age threshold.
func (s *Server) dueDigests(ctx context.Context) ([]string, error) {
	rows, err := s.opts.DB.QueryContext(ctx, `SELECT list, sum(size), min(added) FROM listserv_digest_entry
		WHERE issue = 0 GROUP BY list`)
	if err != nil {
		return nil, fmt.Errorf("listserv: digests: %w", err)
	}
	type waiting struct {
		list   string
		size   int64
		oldest int64
	}
	var ws []waiting
	for rows.Next() {
		var w waiting
		if err := rows.Scan(&w.list, &w.size, &w.oldest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listserv: digests: %w", err)
		}
		ws = append(ws, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listserv: digests: %w", err)
	}
	now := s.opts.Now()
	var out []string
	for _, w := range ws {
		l, err := s.opts.Lists.GetList(ctx, w.list)
		if err != nil {
			var nf *lists.NotFoundError
			if errors.As(err, &nf) {
				s.exec(ctx, `DELETE FROM listserv_digest_entry WHERE list = ?`, w.list)
				continue
			}
			return out, err
		}
		set := l.Settings
		bySize := set.DigestSizeThreshold > 0 && w.size >= int64(set.DigestSizeThreshold)*1024
		byAge := now.Sub(time.Unix(0, w.oldest)) >= set.DigestInterval.Duration()
		if bySize || byAge {
			out = append(out, w.list)
		}
	}
	return out, nil
}

// SendDigest numbers and sends a digest of list's waiting posts now,
// whatever the thresholds; nothing when no post waits or while an earlier
// issue of the list is still being sent (Tick resumes that one first).
func (s *Server) SendDigest(ctx context.Context, list string) error {
	l, err := s.opts.Lists.GetList(ctx, list)
	if err != nil {
		return err
	}
	d, n, err := s.newIssue(ctx, l)
	if err != nil || n == 0 {
		return err
	}
	s.log.Info("listserv: digest numbered", slog.String("list", l.Address()), slog.Int("volume", d.volume),
		slog.Int("issue", d.issue), slog.Int("posts", n))
	return s.sendIssue(ctx, l.Address(), d.volume, d.issue)
}

// nextIssue returns the number of list's next digest (see Digests).
func nextIssue(ctx context.Context, tx *sql.Tx, list string, now time.Time) (volume, issue int, err error) {
	var created int64
	err = tx.QueryRowContext(ctx, `SELECT volume, issue, created FROM listserv_digest WHERE list = ?
		ORDER BY volume DESC, issue DESC LIMIT 1`, list).Scan(&volume, &issue, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 1, 1, nil
	case err != nil:
		return 0, 0, err
	case time.Unix(0, created).UTC().Year() != now.UTC().Year():
		return volume + 1, 1, nil
	}
	return volume, issue + 1, nil
}

// newIssue tags the waiting entries of l with the next issue number and
// stores the MIME digest, in one transaction. n is the number of posts in
// it; 0 when none waits or an issue of l is still sending.
func (s *Server) newIssue(ctx context.Context, l *lists.List) (d digestIssue, n int, err error) {
	list := l.Address()
	msgID, err := s.newMessageID()
	if err != nil {
		return d, 0, err
	}
	fail := func(err error) (digestIssue, int, error) {
		return digestIssue{}, 0, fmt.Errorf("listserv: digest: %w", err)
	}
	tx, err := s.opts.DB.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var busy int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM listserv_digest WHERE list = ? AND state = 'sending'`,
		list).Scan(&busy); err != nil {
		return fail(err)
	}
	if busy > 0 {
		return d, 0, nil
	}
	now := s.opts.Now()
	d = digestIssue{msgID: msgID, date: now}
	if d.volume, d.issue, err = nextIssue(ctx, tx, list, now); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE listserv_digest_entry SET issue = ? WHERE id IN
		(SELECT id FROM listserv_digest_entry WHERE list = ? AND issue = 0 ORDER BY id LIMIT ?)`,
		d.issue, list, digestMaxEntries); err != nil {
		return fail(err)
	}
	entries, err := issueEntries(ctx, tx, list, d.issue)
	if err != nil {
		return fail(err)
	}
	if len(entries) == 0 {
		return digestIssue{}, 0, nil
	}
	raw := s.buildDigest(l, d, entries)
	if _, err := tx.ExecContext(ctx, `INSERT INTO listserv_digest (list, volume, issue, state, message_id, raw, entries, created)
		VALUES (?, ?, ?, 'sending', ?, ?, ?, ?)`, list, d.volume, d.issue, msgID, raw, len(entries), now.UnixNano()); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return d, len(entries), nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// issueEntries returns the posts tagged with issue, in arrival order. Only
// one issue of a list is numbered and unfinished at a time, so the issue
// number alone names them.
func issueEntries(ctx context.Context, q queryer, list string, issue int) ([]digestEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT subject, sender, raw FROM listserv_digest_entry WHERE list = ? AND issue = ? ORDER BY id`,
		list, issue)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var entries []digestEntry
	for rows.Next() {
		var e digestEntry
		if err := rows.Scan(&e.subject, &e.sender, &e.raw); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, rows.Err()
}

// sendIssue fans a stored issue out to the digest members, each in the
// form they chose, and finishes it.
func (s *Server) sendIssue(ctx context.Context, list string, volume, issue int) error {
	var raw []byte
	var msgID, state string
	var created int64
	err := s.opts.DB.QueryRowContext(ctx, `SELECT state, message_id, raw, created FROM listserv_digest WHERE list = ? AND volume = ? AND issue = ?`,
		list, volume, issue).Scan(&state, &msgID, &raw, &created)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && state != "sending") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listserv: digest: %w", err)
	}
	l, err := s.opts.Lists.GetList(ctx, list)
	if err != nil {
		return err
	}
	header, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	out := &outPost{list: l, header: append(header, '\r', '\n'), body: body, msgID: msgID}
	key := fmt.Sprintf("digest:%d:%d", volume, issue)
	n, err := s.fanout(ctx, l, key, out, func(m *lists.Member) bool {
		return m.Mode == lists.ModeDigest && m.DigestFormat != lists.DigestPlain
	})
	if err != nil {
		return err
	}
	entries, err := issueEntries(ctx, s.opts.DB, list, issue)
	if err != nil {
		return fmt.Errorf("listserv: digest: %w", err)
	}
	d := digestIssue{volume: volume, issue: issue, msgID: plainMessageID(msgID),
		date: time.Unix(0, created).In(s.opts.Now().Location())}
	praw := s.buildPlainDigest(l, d, entries)
	pheader, pbody, _ := bytes.Cut(praw, []byte("\r\n\r\n"))
	pout := &outPost{list: l, header: append(pheader, '\r', '\n'), body: pbody, msgID: d.msgID}
	np, err := s.fanout(ctx, l, key+":plain", pout, func(m *lists.Member) bool {
		return m.Mode == lists.ModeDigest && m.DigestFormat == lists.DigestPlain
	})
	if err != nil {
		return err
	}
	if err := s.exec(ctx, `UPDATE listserv_digest SET state = 'done', raw = NULL WHERE list = ? AND volume = ? AND issue = ?`,
		list, volume, issue); err != nil {
		return err
	}
	if err := s.exec(ctx, `DELETE FROM listserv_digest_entry WHERE list = ? AND issue = ?`, list, issue); err != nil {
		return err
	}
	s.log.Info("listserv: digest sent", slog.String("list", list), slog.Int("volume", volume), slog.Int("issue", issue),
		slog.Int("mime_copies", n), slog.Int("plain_copies", np))
	return nil
}

// plainMessageID derives the plain form's Message-ID from the MIME one.
func plainMessageID(id string) string {
	if i := strings.LastIndexByte(id, '@'); i > 0 {
		return id[:i] + ".plain" + id[i:]
	}
	return id
}
