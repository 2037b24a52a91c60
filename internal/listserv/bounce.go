package listserv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/maillog"
)

// Bounce scoring. A message to name-bounces+local=domain@ is a bounce for
// the member local@domain, unless it is a delivery status notification
// (RFC 3464) that reports no failure (only delayed, relayed, delivered or
// expanded). Each member scores at most one point per day; points older
// than BounceWindow are forgotten. When the score reaches BounceThreshold
// the member's delivery becomes disabled-bounce, and the owners and the
// member are told. Bounces without a VERP member (for our notices) and for
// addresses that are not members are dropped.

func errAttr(err error) slog.Attr { return slog.String("error", err.Error()) }

func (s *Server) bounce(ctx context.Context, l *lists.List, msg *message, member string) error {
	if member == "" {
		s.log.Info("listserv: bounce without a member address dropped", slog.String("list", l.Address()))
		return nil
	}
	m, err := s.opts.Lists.GetMember(ctx, l.Address(), member, lists.RoleMember)
	var nf *lists.NotFoundError
	var inv *lists.InvalidError
	if errors.As(err, &nf) || errors.As(err, &inv) {
		s.log.Info("listserv: bounce for a non-member dropped", slog.String("list", l.Address()), slog.String("rcpt", member))
		return nil
	}
	if err != nil {
		return err
	}
	failed, detail := bounceKind(msg)
	if !failed {
		s.log.Info("listserv: delivery report without failure ignored", slog.String("list", l.Address()),
			slog.String("rcpt", member), slog.String("detail", detail))
		return nil
	}
	score, err := s.scoreBounce(ctx, l.Address(), strings.ToLower(m.Address), detail)
	if err != nil {
		return err
	}
	s.mlog.Record(maillog.Event{Time: s.opts.Now(), Kind: maillog.Bounced, List: l.Address(), Rcpt: m.Address,
		Stage: "list bounce", Reply: fmt.Sprintf("score %d/%d: %s", score, s.opts.BounceThreshold, detail)})
	if score < s.opts.BounceThreshold || m.Delivery != lists.DeliveryEnabled {
		return nil
	}
	if err := s.opts.Lists.SetDelivery(ctx, l.Address(), m.Address, lists.DeliveryDisabledBounce); err != nil {
		return err
	}
	s.log.Warn("listserv: delivery disabled by bounces", slog.String("list", l.Address()), slog.String("rcpt", m.Address),
		slog.Int("score", score))
	s.bounceNotices(ctx, l, m.Address, score, detail)
	return nil
}

// scoreBounce records today's point for addr and returns the score.
func (s *Server) scoreBounce(ctx context.Context, list, addr, detail string) (int, error) {
	day := s.opts.Now().Unix() / 86400
	oldest := day - int64(s.opts.BounceWindow.Hours()/24)
	if err := s.exec(ctx, `DELETE FROM listserv_bounce WHERE list = ? AND addr = ? AND day < ?`, list, addr, oldest); err != nil {
		return 0, err
	}
	if err := s.exec(ctx, `INSERT INTO listserv_bounce (list, addr, day, detail) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		list, addr, day, detail); err != nil {
		return 0, err
	}
	var n int
	if err := s.opts.DB.QueryRowContext(ctx, `SELECT count(*) FROM listserv_bounce WHERE list = ? AND addr = ?`,
		list, addr).Scan(&n); err != nil {
		return 0, fmt.Errorf("listserv: bounce score: %w", err)
	}
	return n, nil
}

// BounceScore returns the current bounce points of member on list.
func (s *Server) BounceScore(ctx context.Context, list, member string) (int, error) {
	var n int
	day := s.opts.Now().Unix() / 86400
	oldest := day - int64(s.opts.BounceWindow.Hours()/24)
	err := s.opts.DB.QueryRowContext(ctx, `SELECT count(*) FROM listserv_bounce WHERE list = ? AND addr = ? AND day >= ?`,
		strings.ToLower(list), strings.ToLower(member), oldest).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("listserv: bounce score: %w", err)
	}
	return n, nil
}

// bounceKind reads the Action and Status fields of a delivery status
// notification. A message without them counts as a failure (many bounce
// formats are plain text).
func bounceKind(msg *message) (failed bool, detail string) {
	var actions, statuses []string
	sc := bufio.NewScanner(bytes.NewReader(msg.body))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 0; sc.Scan() && n < 5000; n++ {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "action":
			actions = append(actions, strings.ToLower(strings.TrimSpace(val)))
		case "status":
			statuses = append(statuses, strings.TrimSpace(val))
		}
	}
	detail = strings.TrimSpace(msg.subject())
	if len(statuses) > 0 {
		detail = "status " + strings.Join(statuses, ",") + ": " + detail
	}
	if len(actions) == 0 {
		return true, detail
	}
	for _, a := range actions {
		if a == "failed" {
			return true, detail
		}
	}
	return false, "actions " + strings.Join(actions, ",")
}

// bounceNotices tells the owners and the member that delivery was disabled.
// Failures are logged: the member is disabled either way.
func (s *Server) bounceNotices(ctx context.Context, l *lists.List, member string, score int, detail string) {
	owners, err := s.owners(ctx, l)
	if err != nil {
		s.logNoticeErr(l, "bounce-owner", err)
	}
	text := fmt.Sprintf("Delivery of %s to %s was disabled after %d bounces (last: %s).\n",
		l.Address(), member, score, detail)
	if len(owners) > 0 {
		if _, err := s.send(ctx, notice{list: l, kind: "bounce-disabled", from: lists.CompanionAddress(l.Address(), lists.AddrOwner),
			to: owners, subject: "Bounce: delivery to " + member + " disabled", text: text, generated: true}); err != nil {
			s.logNoticeErr(l, "bounce-owner", err)
		}
	}
	mtext := text + fmt.Sprintf("\nYou are still a member. To receive the list again, contact %s.\n",
		lists.CompanionAddress(l.Address(), lists.AddrOwner))
	if _, err := s.send(ctx, notice{list: l, kind: "bounce-disabled", from: lists.CompanionAddress(l.Address(), lists.AddrOwner),
		to: []string{member}, subject: "Your delivery from " + l.Address() + " was disabled", text: mtext, generated: true}); err != nil {
		s.logNoticeErr(l, "bounce-member", err)
	}
}
