package listserv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/maillog"
)

// Bounce scoring. A message to name-bounces+local=domain@ (VERP) is a
// bounce for the member local@domain; one to the plain name-bounces@
// (notices, and MTAs that bounce to the header or drop the VERP part) is a
// bounce for the members among the failed recipients that the bounce names
// (Final-Recipient or Original-Recipient of an RFC 3464 report,
// X-Failed-Recipients, or the addresses in a text bounce: see
// bounce_parse.go). Reports without a failure (delayed, relayed,
// delivered, expanded; text delay warnings) are ignored.
//
// A hard bounce is one point, a soft one (a failure on a 4.x.x status)
// half a point, and a member scores at most one bounce per day: a hard one
// replaces a soft one of the same day. Points older than BounceWindow are
// forgotten. When the score reaches BounceThreshold the member's delivery
// becomes disabled-bounce, and the owners and the member are told; with
// BounceProbes, only after a probe to the member bounced too (probe.go).
// Bounces for addresses that are not members are dropped.
//
// A day's soft point is stored with its detail prefixed "soft:"; the score
// is (2 × hard days + soft days) / 2, rounded down.

func errAttr(err error) slog.Attr { return slog.String("error", err.Error()) }

func (s *Server) bounce(ctx context.Context, l *lists.List, msg *message, member string) error {
	rep := bounceKind(msg)
	if rep.class == bounceNone {
		s.log.Info("listserv: delivery report without failure ignored", slog.String("list", l.Address()),
			slog.String("rcpt", member), slog.String("detail", rep.detail))
		return nil
	}
	if token, ok := lists.ProbeToken(member); ok {
		return s.probeBounced(ctx, l, token, rep)
	}
	addrs := rep.rcpts
	if member != "" {
		addrs = []string{member}
	}
	if len(addrs) == 0 {
		s.log.Info("listserv: bounce without a member address dropped", slog.String("list", l.Address()),
			slog.String("detail", rep.detail))
		return nil
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		m, err := s.opts.Lists.GetMember(ctx, l.Address(), a, lists.RoleMember)
		var nf *lists.NotFoundError
		var inv *lists.InvalidError
		if errors.As(err, &nf) || errors.As(err, &inv) {
			continue
		}
		if err != nil {
			return err
		}
		if k := strings.ToLower(m.Address); !seen[k] {
			seen[k] = true
			if err := s.scoreMember(ctx, l, m, rep); err != nil {
				return err
			}
		}
	}
	if len(seen) == 0 {
		s.log.Info("listserv: bounce for a non-member dropped", slog.String("list", l.Address()),
			slog.String("rcpt", strings.Join(addrs, ",")))
	}
	return nil
}

// scoreMember counts rep for member m and disables m at the threshold.
func (s *Server) scoreMember(ctx context.Context, l *lists.List, m *lists.Member, rep bounceReport) error {
	score, err := s.scoreBounce(ctx, l.Address(), strings.ToLower(m.Address), rep.detail, rep.class == bounceSoft)
	if err != nil {
		return err
	}
	s.mlog.Record(maillog.Event{Time: s.opts.Now(), Kind: maillog.Bounced, List: l.Address(), Rcpt: m.Address,
		Stage: "list bounce", Reply: fmt.Sprintf("%s, score %d/%d: %s", rep.class, score, s.opts.BounceThreshold, rep.detail)})
	if score < s.opts.BounceThreshold || m.Delivery != lists.DeliveryEnabled {
		return nil
	}
	if s.opts.BounceProbes {
		return s.probe(ctx, l, m, score, rep.detail)
	}
	return s.disableBounced(ctx, l, m, score, rep.detail)
}

// disableBounced sets m's delivery to disabled-bounce and tells the owners
// and m.
func (s *Server) disableBounced(ctx context.Context, l *lists.List, m *lists.Member, score int, detail string) error {
	if err := s.opts.Lists.SetDelivery(ctx, l.Address(), m.Address, lists.DeliveryDisabledBounce); err != nil {
		return err
	}
	s.log.Warn("listserv: delivery disabled by bounces", slog.String("list", l.Address()), slog.String("rcpt", m.Address),
		slog.Int("score", score))
	s.bounceNotices(ctx, l, m.Address, score, detail)
	return nil
}

// softPrefix marks the detail of a day with only a soft bounce.
const softPrefix = "soft:"

// scorePoints is the score of the listserv_bounce rows it is applied to.
const scorePoints = `coalesce(sum(CASE WHEN detail LIKE 'soft:%' THEN 1 ELSE 2 END), 0) / 2`

// scoreBounce records today's bounce for addr and returns the score.
func (s *Server) scoreBounce(ctx context.Context, list, addr, detail string, soft bool) (int, error) {
	day := s.opts.Now().Unix() / 86400
	oldest := day - int64(s.opts.BounceWindow.Hours()/24)
	if soft {
		detail = softPrefix + " " + detail
	} else if strings.HasPrefix(strings.ToLower(detail), softPrefix) {
		detail = "hard " + detail
	}
	if err := s.exec(ctx, `DELETE FROM listserv_bounce WHERE list = ? AND addr = ? AND day < ?`, list, addr, oldest); err != nil {
		return 0, err
	}
	if err := s.exec(ctx, `INSERT INTO listserv_bounce (list, addr, day, detail) VALUES (?, ?, ?, ?)
		ON CONFLICT (list, addr, day) DO UPDATE SET detail = excluded.detail
		WHERE listserv_bounce.detail LIKE 'soft:%' AND excluded.detail NOT LIKE 'soft:%'`,
		list, addr, day, detail); err != nil {
		return 0, err
	}
	var n int
	if err := s.opts.DB.QueryRowContext(ctx, `SELECT `+scorePoints+` FROM listserv_bounce WHERE list = ? AND addr = ?`,
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
	err := s.opts.DB.QueryRowContext(ctx, `SELECT `+scorePoints+` FROM listserv_bounce WHERE list = ? AND addr = ? AND day >= ?`,
		strings.ToLower(list), strings.ToLower(member), oldest).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("listserv: bounce score: %w", err)
	}
	return n, nil
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
