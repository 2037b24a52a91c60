package listserv

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/maillog"
)

// The archive hook.
//
// When the distribution of a post starts, the post as every member gets it
// (list fields, header and footer, DMARC mitigation; with the mailto:
// List-Unsubscribe instead of a member's one-click link, and without VERP)
// is stored as an archive job in the same transaction that records the
// distribution, so that a retried or duplicated delivery of the post does
// not make a second job:
//
//	distribution starts ─▶ job ─ fan-out done ─▶ Options.Archive ─ ok ──▶ job deleted
//	                                                              └ error ─▶ job kept (attempts+1); Tick retries
//
// An archive error never holds up distribution: it is logged, counted
// (ArchiveErrors) and retried on each Tick. A crash between a successful
// Archive call and the deletion of the job calls Archive again for the
// post on the next Tick; the archive is idempotent (by Message-ID and
// content).

// ArchiveFunc stores a distributed post in the archive of list.
type ArchiveFunc func(ctx context.Context, list string, raw []byte) error

// archiveBatch bounds the jobs retried per Tick.
const archiveBatch = 100

// archiveForm is the post as distributed, without per-member fields.
func (s *Server) archiveForm(out *outPost) []byte {
	var b bytes.Buffer
	b.Write(out.header)
	b.WriteString("List-Unsubscribe: <mailto:" + lists.CompanionAddress(out.list.Address(), lists.AddrLeave) + ">\r\n\r\n")
	b.Write(out.body)
	return b.Bytes()
}

// archiveJob runs the archive job of (list, key), if there is one.
func (s *Server) archiveJob(ctx context.Context, list, key string) {
	if s.opts.Archive == nil {
		return
	}
	var raw []byte
	err := s.opts.DB.QueryRowContext(ctx, `SELECT raw FROM listserv_archive WHERE list = ? AND msg_key = ?`, list, key).Scan(&raw)
	if err != nil {
		return // none (already archived), or unreadable: Tick tries again
	}
	s.runArchive(ctx, list, key, raw)
}

// runArchive calls Options.Archive and records the outcome; it reports
// whether the job is done.
func (s *Server) runArchive(ctx context.Context, list, key string, raw []byte) bool {
	err := s.opts.Archive(ctx, list, raw)
	if err == nil {
		if err := s.exec(ctx, `DELETE FROM listserv_archive WHERE list = ? AND msg_key = ?`, list, key); err != nil {
			s.log.Error("listserv: archive job", slog.String("list", list), slog.String("key", key), errAttr(err))
		}
		return true
	}
	s.archiveErrors.Add(1)
	s.mlog.Record(maillog.Event{Time: s.opts.Now(), Kind: maillog.Error, List: list, MessageID: key,
		Stage: "listserv archive", Reply: err.Error()})
	if err := s.exec(ctx, `UPDATE listserv_archive SET attempts = attempts + 1, last_error = ? WHERE list = ? AND msg_key = ?`,
		err.Error(), list, key); err != nil {
		s.log.Error("listserv: archive job", slog.String("list", list), slog.String("key", key), errAttr(err))
	}
	return false
}

// retryArchive retries the pending archive jobs, oldest first.
func (s *Server) retryArchive(ctx context.Context) error {
	if s.opts.Archive == nil {
		return nil
	}
	rows, err := s.opts.DB.QueryContext(ctx, `SELECT list, msg_key, raw FROM listserv_archive ORDER BY created LIMIT ?`, archiveBatch)
	if err != nil {
		return fmt.Errorf("listserv: archive jobs: %w", err)
	}
	type job struct {
		list, key string
		raw       []byte
	}
	var jobs []job
	for rows.Next() {
		var j job
		if err := rows.Scan(&j.list, &j.key, &j.raw); err != nil {
			rows.Close()
			return fmt.Errorf("listserv: archive jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listserv: archive jobs: %w", err)
	}
	failed := 0
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		if !s.runArchive(ctx, j.list, j.key, j.raw) {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("listserv: %d archive job(s) failed, will retry", failed)
	}
	return nil
}

// ArchivePending returns the number of posts waiting for the archive.
func (s *Server) ArchivePending(ctx context.Context) (int, error) {
	var n int
	if err := s.opts.DB.QueryRowContext(ctx, `SELECT count(*) FROM listserv_archive`).Scan(&n); err != nil {
		return 0, fmt.Errorf("listserv: archive jobs: %w", err)
	}
	return n, nil
}

// ArchiveErrors returns how many Archive calls failed since the start.
func (s *Server) ArchiveErrors() int64 { return s.archiveErrors.Load() }
