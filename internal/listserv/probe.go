package listserv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/maillog"
)

// Bounce probes (Options.BounceProbes). A member can reach the bounce
// threshold without a fault of their own: a full mailbox that was emptied
// since, a receiving host that refused one big post, a bounce that was
// really for a forwarded copy. So at the threshold the member is not
// disabled at once; the list mails them a probe, a short notice with a
// return path of its own, name-bounces+probe-TOKEN@domain
// (lists.ProbeAddress), and a row in listserv_probe:
//
//	waiting ─┬─ a failure report to the probe's address ─▶ bounced:
//	         │     delivery disabled-bounce, owners and member told
//	         └─ no failure within BounceProbeWait (Tick) ─▶ passed:
//	               the member's bounce points are cleared
//
// While a member has a waiting probe, further bounces still score but send
// no second probe. A report without a failure (a delay warning) leaves the
// probe waiting. A bounce to an unknown token, or to a probe that is
// already used or expired, is logged and dropped. Rows that are no longer
// waiting are deleted probeKeep after they expired.
//
// The row is written before the probe is submitted, so two bounces at the
// same time send one probe (a unique index allows one waiting probe per
// member); if Submit fails the row is removed again and the bounce is
// retried by the queue.

// Probe states.
const (
	probeWaiting = "waiting"
	probeBounced = "bounced"
	probePassed  = "passed"
)

// probeKeep is how long used and passed probes are kept after they expire.
const probeKeep = 30 * 24 * 60 * 60 // seconds

// probe sends member m a probe unless one is waiting already.
func (s *Server) probe(ctx context.Context, l *lists.List, m *lists.Member, score int, detail string) error {
	list, member := l.Address(), strings.ToLower(m.Address)
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("listserv: probe token: %w", err)
	}
	token := hex.EncodeToString(b)
	now := s.opts.Now()
	res, err := s.opts.DB.ExecContext(ctx, `INSERT INTO listserv_probe (token, list, member, sent, expires, detail)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		token, list, member, now.Unix(), now.Add(s.opts.BounceProbeWait).Unix(), detail)
	if err != nil {
		return fmt.Errorf("listserv: probe: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		s.log.Info("listserv: bounce while a probe is waiting", slog.String("list", list),
			slog.String("rcpt", m.Address), slog.Int("score", score))
		return nil
	}
	owner := lists.CompanionAddress(list, lists.AddrOwner)
	text := fmt.Sprintf("Mail from the list %s to your address %s has bounced recently\n(last: %s).\n\n"+
		"This message checks whether your address works. If you can read it,\n"+
		"all is well and you need not do anything.\n\nQuestions: %s\n", list, m.Address, detail, owner)
	qid, err := s.send(ctx, notice{list: l, kind: "bounce-probe", from: owner, to: []string{m.Address},
		subject: "Checking your address for " + list, text: text, generated: true,
		envFrom: lists.ProbeAddress(list, token)})
	if err != nil {
		if derr := s.exec(context.WithoutCancel(ctx), `DELETE FROM listserv_probe WHERE token = ?`, token); derr != nil {
			err = errors.Join(err, derr)
		}
		return err
	}
	s.log.Info("listserv: bounce probe sent", slog.String("list", list), slog.String("rcpt", m.Address),
		slog.Int("score", score), slog.String("queue_id", qid))
	return nil
}

// probeRow is one row of listserv_probe.
type probeRow struct {
	token, list, member, state, detail string
	expires                            int64
}

// probeBounced handles a failure report rep to the probe address of token.
func (s *Server) probeBounced(ctx context.Context, l *lists.List, token string, rep bounceReport) error {
	var p probeRow
	err := s.opts.DB.QueryRowContext(ctx, `SELECT list, member, state, expires FROM listserv_probe WHERE token = ?`,
		token).Scan(&p.list, &p.member, &p.state, &p.expires)
	drop := func(why string) error {
		s.log.Info("listserv: bounce to a probe dropped", slog.String("list", l.Address()), slog.String("token", token),
			slog.String("reason", why), slog.String("detail", rep.detail))
		return nil
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return drop("unknown probe")
	case err != nil:
		return fmt.Errorf("listserv: probe: %w", err)
	case !strings.EqualFold(p.list, l.Address()):
		return drop("probe of another list")
	case p.state != probeWaiting:
		return drop("probe already " + p.state)
	case s.opts.Now().Unix() >= p.expires:
		return drop("probe expired")
	}
	m, err := s.opts.Lists.GetMember(ctx, l.Address(), p.member, lists.RoleMember)
	var nf *lists.NotFoundError
	if errors.As(err, &nf) {
		s.log.Info("listserv: probe bounced for a former member", slog.String("list", l.Address()),
			slog.String("rcpt", p.member))
		return s.endProbe(ctx, token, probeBounced)
	}
	if err != nil {
		return err
	}
	score, err := s.scoreBounce(ctx, l.Address(), p.member, rep.detail, rep.class == bounceSoft)
	if err != nil {
		return err
	}
	s.mlog.Record(maillog.Event{Time: s.opts.Now(), Kind: maillog.Bounced, List: l.Address(), Rcpt: m.Address,
		Stage: "list bounce probe", Reply: fmt.Sprintf("probe %s, score %d/%d: %s", rep.class, score, s.opts.BounceThreshold, rep.detail)})
	enabled := m.Delivery == lists.DeliveryEnabled
	if enabled {
		if err := s.opts.Lists.SetDelivery(ctx, l.Address(), m.Address, lists.DeliveryDisabledBounce); err != nil {
			return err
		}
	}
	// Used only now: a failure above leaves the probe waiting for the
	// queue's retry of this bounce.
	if err := s.endProbe(ctx, token, probeBounced); err != nil {
		return err
	}
	if enabled {
		s.log.Warn("listserv: delivery disabled: the probe bounced", slog.String("list", l.Address()),
			slog.String("rcpt", m.Address), slog.Int("score", score))
		s.bounceNotices(ctx, l, m.Address, score, rep.detail)
	}
	return nil
}

// endProbe moves a waiting probe to state.
func (s *Server) endProbe(ctx context.Context, token, state string) error {
	return s.exec(ctx, `UPDATE listserv_probe SET state = ? WHERE token = ? AND state = ?`, state, token, probeWaiting)
}

// expireProbes passes the waiting probes whose time is up: no failure came
// back, so the address works and the member's bounce points are cleared.
// Called by Tick.
func (s *Server) expireProbes(ctx context.Context) error {
	now := s.opts.Now()
	rows, err := s.opts.DB.QueryContext(ctx, `SELECT token, list, member, detail FROM listserv_probe
		WHERE state = ? AND expires <= ? ORDER BY expires LIMIT 1000`, probeWaiting, now.Unix())
	if err != nil {
		return fmt.Errorf("listserv: probes: %w", err)
	}
	var due []probeRow
	for rows.Next() {
		var p probeRow
		if err := rows.Scan(&p.token, &p.list, &p.member, &p.detail); err != nil {
			rows.Close()
			return fmt.Errorf("listserv: probes: %w", err)
		}
		due = append(due, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listserv: probes: %w", err)
	}
	var errs []error
	for _, p := range due {
		if err := s.passProbe(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.exec(ctx, `DELETE FROM listserv_probe WHERE state != ? AND expires < ?`,
		probeWaiting, now.Unix()-probeKeep); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// passProbe marks p passed and clears its member's bounce points, in one
// transaction.
func (s *Server) passProbe(ctx context.Context, p probeRow) error {
	tx, err := s.opts.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("listserv: probe: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE listserv_probe SET state = ? WHERE token = ? AND state = ?`,
		probePassed, p.token, probeWaiting)
	if err != nil {
		return fmt.Errorf("listserv: probe: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // a bounce got there first
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM listserv_bounce WHERE list = ? AND addr = ?`, p.list, p.member); err != nil {
		return fmt.Errorf("listserv: probe: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("listserv: probe: %w", err)
	}
	s.log.Info("listserv: bounce probe passed, score cleared", slog.String("list", p.list), slog.String("rcpt", p.member))
	s.mlog.Record(maillog.Event{Time: s.opts.Now(), Kind: maillog.Operator, Action: "bounce-probe-passed",
		List: p.list, Rcpt: p.member, Stage: "list bounce probe",
		Reply: fmt.Sprintf("no bounce to the probe within %s: bounce score cleared (last bounce: %s)", s.opts.BounceProbeWait, p.detail)})
	return nil
}
