package listserv

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/maillog"
)

// post handles a message to l's posting address.
func (s *Server) post(ctx context.Context, m *courier.Message, l *lists.List, msg *message) error {
	key := msg.key()
	state, _, err := s.distState(ctx, l.Address(), key)
	if err != nil {
		return err
	}
	switch state {
	case distDone:
		s.log.Info("listserv: duplicate post ignored", slog.String("list", l.Address()), slog.String("key", key),
			slog.String("queue_id", m.ID))
		return nil
	case distDistributing:
		// A retry after a partial distribution: the decision was accept.
		d := s.opts.Chain.Evaluate(ctx, l.Address(), msg.post)
		_, err := s.distribute(ctx, l, msg, key, d.ApprovedBodyLine)
		return err
	}
	d := s.opts.Chain.Decide(ctx, l.Address(), msg.post)
	switch d.Action {
	case lists.Accept:
		n, err := s.distribute(ctx, l, msg, key, d.ApprovedBodyLine)
		s.log.Info("listserv: post distributed", slog.String("list", l.Address()), slog.String("key", key),
			slog.String("queue_id", m.ID), slog.Int("copies", n))
		return err
	case lists.Discard:
		return nil
	case lists.Reject:
		text := d.Notice
		if text == "" {
			text = d.Reason
		}
		return s.rejectNotice(ctx, l, msg, text)
	default: // hold; the chain never returns defer, but treat it as hold
		return s.hold(ctx, m, l, msg, key, d)
	}
}

// hold puts the post into the moderation queue, then tells the sender
// (capped) and the moderators (batched). Once the post is held, failures
// of the notices are logged but do not fail the delivery: the post is safe.
func (s *Server) hold(ctx context.Context, m *courier.Message, l *lists.List, msg *message, key string, d lists.Decision) error {
	now := s.opts.Now()
	h, created, err := s.opts.Lists.Hold(ctx, l.Address(), lists.NewHeld{Key: key, EnvelopeFrom: msg.from,
		Subject: msg.subject(), Decision: d, Raw: msg.raw, Expires: now.Add(s.opts.HoldExpiry)})
	if err != nil {
		return err
	}
	if !created {
		return nil
	}
	s.mlog.Record(maillog.Event{Time: now, Kind: maillog.Held, QueueID: m.ID, MessageID: h.MessageID, From: msg.from,
		Size: h.Size, List: l.Address(), Reply: d.Reason, Rules: d.Hits()})
	if err := s.awaitingNotice(ctx, l, msg, h); err != nil {
		s.logNoticeErr(l, "awaiting", err)
	}
	if err := s.notifyModerators(ctx, l); err != nil {
		s.logNoticeErr(l, "moderators", err)
	}
	return nil
}

func (s *Server) logNoticeErr(l *lists.List, kind string, err error) {
	s.mlog.Record(maillog.Event{Time: s.opts.Now(), Kind: maillog.Error, List: l.Address(),
		Stage: "listserv notice " + kind, Reply: err.Error()})
}

// autoReplyOK reports whether msg may get an automatic answer (RFC 3834):
// not for automatic mail and bulk or list mail.
func autoReplyOK(msg *message) bool {
	if a := strings.ToLower(msg.get("Auto-Submitted")); a != "" && a != "no" {
		return false
	}
	switch strings.ToLower(msg.get("Precedence")) {
	case "bulk", "list", "junk":
		return false
	}
	return canNotify(msg.sender())
}

// awaitingNotice tells the sender that the post waits for a moderator, at
// most SenderNoticesPerDay times per sender, list and day.
func (s *Server) awaitingNotice(ctx context.Context, l *lists.List, msg *message, h *lists.HeldPost) error {
	if !autoReplyOK(msg) {
		return nil
	}
	to := msg.sender()
	now := s.opts.Now()
	day := now.Unix() / 86400
	var count int
	err := s.opts.DB.QueryRowContext(ctx, `INSERT INTO listserv_notice (list, kind, addr, day, count, last)
		VALUES (?, 'awaiting', ?, ?, 1, ?)
		ON CONFLICT (list, kind, addr) DO UPDATE SET
			count = CASE WHEN listserv_notice.day = excluded.day THEN listserv_notice.count + 1 ELSE 1 END,
			day = excluded.day, last = excluded.last
		RETURNING count`, l.Address(), strings.ToLower(to), day, now.UnixNano()).Scan(&count)
	if err != nil {
		return fmt.Errorf("listserv: notice limit: %w", err)
	}
	if count > s.opts.SenderNoticesPerDay {
		return nil
	}
	text := fmt.Sprintf("Your message to %s\n\n  Subject: %s\n\nis waiting for a moderator of the list to approve it.\n\n"+
		"Reason: %s\n\nYou will be told if it is rejected. No action is needed on your part.\n",
		l.Address(), h.Subject, h.Reason)
	_, err = s.send(ctx, notice{list: l, kind: "awaiting", from: lists.CompanionAddress(l.Address(), lists.AddrOwner),
		to: []string{to}, subject: "Your message to " + l.Address() + " awaits moderator approval", text: text,
		inReply: h.MessageID})
	return err
}

// rejectNotice tells the sender that the post was rejected and why.
func (s *Server) rejectNotice(ctx context.Context, l *lists.List, msg *message, reason string) error {
	if !autoReplyOK(msg) {
		return nil
	}
	text := fmt.Sprintf("Your message to %s\n\n  Subject: %s\n\nwas rejected.\n\n%s\n\nContact %s with questions.\n",
		l.Address(), msg.subject(), reason, lists.CompanionAddress(l.Address(), lists.AddrOwner))
	_, err := s.send(ctx, notice{list: l, kind: "rejected", from: lists.CompanionAddress(l.Address(), lists.AddrOwner),
		to: []string{msg.sender()}, subject: "Your message to " + l.Address() + " was rejected", text: text,
		inReply: msg.get("Message-Id")})
	return err
}

// notifyModerators sends l's moderators one notice listing the posts held
// since the last one, unless a notice went out less than
// ModeratorNoticeInterval ago (Tick sends it later then).
func (s *Server) notifyModerators(ctx context.Context, l *lists.List) error {
	s.noticeMu.Lock()
	defer s.noticeMu.Unlock()
	now := s.opts.Now()
	var last int64
	err := s.opts.DB.QueryRowContext(ctx, `SELECT coalesce(max(last), 0) FROM listserv_notice
		WHERE list = ? AND kind = 'moderators' AND addr = ''`, l.Address()).Scan(&last)
	if err != nil {
		return fmt.Errorf("listserv: notice limit: %w", err)
	}
	if last != 0 && now.Sub(time.Unix(0, last)) < s.opts.ModeratorNoticeInterval {
		return nil
	}
	posts, err := s.opts.Lists.UnnotifiedHeld(ctx, l.Address(), 50)
	if err != nil || len(posts) == 0 {
		return err
	}
	mods, err := s.moderators(ctx, l)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d new message(s) to %s wait for moderation:\n\n", len(posts), l.Address())
	ids := make([]int64, len(posts))
	for i, h := range posts {
		ids[i] = h.ID
		fmt.Fprintf(&b, "#%d  from %s\n     subject: %s\n     reason: %s\n     held: %s\n\n",
			h.ID, h.Sender, h.Subject, h.Reason, h.Held.UTC().Format(time.RFC1123))
	}
	fmt.Fprintf(&b, "Decide with \"posthorn held approve|reject|discard %s ID\"", l.Address())
	if u := s.listURL(l); u != "" {
		fmt.Fprintf(&b, " or at %sheld/", u)
	}
	b.WriteString(".\n")
	if len(mods) > 0 {
		_, err = s.send(ctx, notice{list: l, kind: "moderators", from: lists.CompanionAddress(l.Address(), lists.AddrOwner),
			to: mods, subject: fmt.Sprintf("%d message(s) held for %s", len(posts), l.Address()), text: b.String(), generated: true})
		if err != nil {
			return err
		}
	} else {
		s.log.Warn("listserv: held posts but no owner or moderator to tell", slog.String("list", l.Address()))
	}
	if err := s.opts.Lists.MarkHeldNotified(ctx, ids); err != nil {
		return err
	}
	return s.exec(ctx, `INSERT INTO listserv_notice (list, kind, addr, last) VALUES (?, 'moderators', '', ?)
		ON CONFLICT (list, kind, addr) DO UPDATE SET last = excluded.last`, l.Address(), now.UnixNano())
}
