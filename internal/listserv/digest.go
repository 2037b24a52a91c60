package listserv

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"mime"
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
//	                    than digest_interval ─▶ numbered: issue n+1 (one
//	                    transaction: entries tagged, digest stored, state sending)
//	sending ─ fan-out to digest members (dist table, key digest:V:N,
//	          cursor as for posts) ─▶ done (entries and stored digest deleted)
//
// The issue number is taken, and the digest built and stored, before any
// copy goes out; after a crash Tick resumes the fan-out of the same stored
// digest from its cursor, so no member gets an issue twice (beyond the
// page in flight, as for posts) and numbers never repeat. The digest is
// MIME (RFC 2046 multipart/digest): multipart/mixed of a text/plain table
// of contents, the multipart/digest of message/rfc822 posts, and the
// list's footer. The volume is 1.

const (
	digestVolume = 1
	// digestMaxEntries bounds the posts in one issue; more wait for the next.
	digestMaxEntries = 500
)

type digestEntry struct {
	subject, sender string
	raw             []byte
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
// whatever the thresholds; nothing when no post waits.
func (s *Server) SendDigest(ctx context.Context, list string) error {
	l, err := s.opts.Lists.GetList(ctx, list)
	if err != nil {
		return err
	}
	issue, n, err := s.newIssue(ctx, l)
	if err != nil || n == 0 {
		return err
	}
	s.log.Info("listserv: digest numbered", slog.String("list", l.Address()), slog.Int("issue", issue), slog.Int("posts", n))
	return s.sendIssue(ctx, l.Address(), digestVolume, issue)
}

// newIssue tags the waiting entries of l with the next issue number and
// stores the digest, in one transaction. n is the number of posts in it.
func (s *Server) newIssue(ctx context.Context, l *lists.List) (issue, n int, err error) {
	list := l.Address()
	msgID, err := s.newMessageID()
	if err != nil {
		return 0, 0, err
	}
	tx, err := s.opts.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("listserv: digest: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(issue), 0) + 1 FROM listserv_digest WHERE list = ? AND volume = ?`,
		list, digestVolume).Scan(&issue); err != nil {
		return 0, 0, fmt.Errorf("listserv: digest: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE listserv_digest_entry SET issue = ? WHERE id IN
		(SELECT id FROM listserv_digest_entry WHERE list = ? AND issue = 0 ORDER BY id LIMIT ?)`,
		issue, list, digestMaxEntries); err != nil {
		return 0, 0, fmt.Errorf("listserv: digest: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT subject, sender, raw FROM listserv_digest_entry WHERE list = ? AND issue = ? ORDER BY id`,
		list, issue)
	if err != nil {
		return 0, 0, fmt.Errorf("listserv: digest: %w", err)
	}
	var entries []digestEntry
	for rows.Next() {
		var e digestEntry
		if err := rows.Scan(&e.subject, &e.sender, &e.raw); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("listserv: digest: %w", err)
		}
		entries = append(entries, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("listserv: digest: %w", err)
	}
	if len(entries) == 0 {
		return 0, 0, nil
	}
	raw := s.buildDigest(l, issue, msgID, entries)
	if _, err := tx.ExecContext(ctx, `INSERT INTO listserv_digest (list, volume, issue, state, message_id, raw, entries, created)
		VALUES (?, ?, ?, 'sending', ?, ?, ?, ?)`, list, digestVolume, issue, msgID, raw, len(entries), s.opts.Now().UnixNano()); err != nil {
		return 0, 0, fmt.Errorf("listserv: digest: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("listserv: digest: %w", err)
	}
	return issue, len(entries), nil
}

// sendIssue fans a stored issue out to the digest members and finishes it.
func (s *Server) sendIssue(ctx context.Context, list string, volume, issue int) error {
	var raw []byte
	var msgID, state string
	err := s.opts.DB.QueryRowContext(ctx, `SELECT state, message_id, raw FROM listserv_digest WHERE list = ? AND volume = ? AND issue = ?`,
		list, volume, issue).Scan(&state, &msgID, &raw)
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
	n, err := s.fanout(ctx, l, key, out, func(m *lists.Member) bool { return m.Mode == lists.ModeDigest })
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
	s.log.Info("listserv: digest sent", slog.String("list", list), slog.Int("issue", issue), slog.Int("copies", n))
	return nil
}

// buildDigest writes the MIME digest of entries.
func (s *Server) buildDigest(l *lists.List, issue int, msgID string, entries []digestEntry) []byte {
	name := l.DisplayName
	if name == "" {
		name = l.Name
	}
	addr := l.Address()
	title := fmt.Sprintf("%s Digest, Vol %d, Issue %d", name, digestVolume, issue)
	var toc strings.Builder
	fmt.Fprintf(&toc, "Send submissions to %s.\n", addr)
	fmt.Fprintf(&toc, "To unsubscribe or change your delivery, write to %s\n(subject \"help\") or to %s.\n",
		lists.CompanionAddress(addr, lists.AddrRequest), lists.CompanionAddress(addr, lists.AddrOwner))
	if u := s.listURL(l); u != "" {
		fmt.Fprintf(&toc, "List page: %s\n", u)
	}
	toc.WriteString("\nToday's Topics:\n\n")
	for i, e := range entries {
		fmt.Fprintf(&toc, "  %d. %s (%s)\n", i+1, oneLine(decodeWords(e.subject)), oneLine(decodeWords(e.sender)))
	}
	var inner bytes.Buffer
	innerB := "=_posthorn_digest_" + shortHash([]byte(msgID+"inner"))
	eightBit := false
	for _, e := range entries {
		inner.WriteString("--" + innerB + "\r\nContent-Type: message/rfc822\r\n\r\n")
		inner.Write(e.raw)
		inner.WriteString("\r\n")
		eightBit = eightBit || !isASCIIBytes(e.raw)
	}
	inner.WriteString("--" + innerB + "--\r\n")
	footer := s.placeholders(l, l.Settings.Footer)
	outerB := "=_posthorn_digest_" + shortHash([]byte(msgID+"outer"))
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s <%s>\r\n", mime.QEncoding.Encode("utf-8", quotePhrase(name)), lists.CompanionAddress(addr, lists.AddrRequest))
	fmt.Fprintf(&b, "To: %s\r\n", addr)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", title))
	fmt.Fprintf(&b, "Date: %s\r\n", s.opts.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", msgID)
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n", outerB)
	if eightBit || !isASCII(toc.String()+footer) {
		b.WriteString("Content-Transfer-Encoding: 8bit\r\n")
	}
	fmt.Fprintf(&b, "List-Id: %s\r\nList-Post: <mailto:%s>\r\nPrecedence: list\r\nX-BeenThere: %s\r\n\r\n", listID(l), addr, addr)
	b.WriteString("--" + outerB + "\r\n" + textPart(toc.String()))
	b.WriteString("--" + outerB + "\r\nContent-Type: multipart/digest; boundary=\"" + innerB + "\"\r\n\r\n")
	b.Write(inner.Bytes())
	if footer != "" {
		b.WriteString("--" + outerB + "\r\n" + textPart(footer))
	}
	b.WriteString("--" + outerB + "--\r\n")
	return b.Bytes()
}

func decodeWords(s string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
