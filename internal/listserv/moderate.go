package listserv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/maillog"
)

// Moderate applies a moderator's decision to held post id of list:
// approve and accept-always distribute the post, reject sends the reason
// to the sender, discard drops it, defer leaves it held. The delivery or
// notice happens first; only when it is safely submitted does the post
// leave the queue, so a failure leaves it held for another try.
func (s *Server) Moderate(ctx context.Context, list string, id int64, action lists.ModAction, reason, moderator string) error {
	if _, err := lists.ParseModAction(string(action)); err != nil {
		return err
	}
	h, err := s.opts.Lists.GetHeld(ctx, list, id)
	if err != nil {
		return err
	}
	if h.State != lists.HeldWaiting {
		return &lists.HeldStateError{ID: id, State: h.State}
	}
	l, err := s.opts.Lists.GetList(ctx, list)
	if err != nil {
		return err
	}
	switch action {
	case lists.ModApprove, lists.ModAcceptAlways, lists.ModReject:
		msg, err := parseMessage(h.Raw, h.EnvelopeFrom, 1)
		if err != nil {
			return fmt.Errorf("listserv: held post %d: %w", id, err)
		}
		if action == lists.ModReject {
			text := "A moderator rejected it."
			if reason != "" {
				text = "A moderator rejected it: " + reason
			}
			if err := s.rejectNotice(ctx, l, msg, text); err != nil {
				return err
			}
			break
		}
		d := s.opts.Chain.Evaluate(ctx, list, msg.post)
		n, err := s.distribute(ctx, l, msg, h.Key, d.ApprovedBodyLine)
		if err != nil {
			return err
		}
		s.log.Info("listserv: approved post distributed", slog.String("list", list), slog.Int64("held_id", id),
			slog.Int("copies", n))
	}
	if _, err := s.opts.Lists.Moderate(ctx, list, id, action, reason, moderator); err != nil {
		return err
	}
	s.mlog.Record(maillog.Event{Time: s.opts.Now(), Kind: maillog.Operator, MessageID: h.MessageID, List: l.Address(),
		Action: string(action), From: h.EnvelopeFrom, Reply: fmt.Sprintf("held #%d by %s: %s", id, moderator, reason)})
	return nil
}

// ModerateMany applies Moderate to each post and reports per post; the
// error is for failures of the whole operation (unknown list or action).
func (s *Server) ModerateMany(ctx context.Context, list string, ids []int64, action lists.ModAction, reason, moderator string) ([]lists.HeldResult, error) {
	if _, err := lists.ParseModAction(string(action)); err != nil {
		return nil, err
	}
	if _, err := s.opts.Lists.GetList(ctx, list); err != nil {
		return nil, err
	}
	out := make([]lists.HeldResult, len(ids))
	for i, id := range ids {
		out[i] = lists.HeldResult{ID: id, Err: s.Moderate(ctx, list, id, action, reason, moderator)}
	}
	return out, nil
}

// Tick sends the moderator notices that waited for their interval,
// expires held posts past their time (telling their senders), retries
// pending archive jobs and sends the digests that are due.
func (s *Server) Tick(ctx context.Context) error {
	var errs []error
	pending, err := s.opts.Lists.ListsWithUnnotifiedHeld(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, addr := range pending {
		l, err := s.opts.Lists.GetList(ctx, addr)
		if err == nil {
			err = s.notifyModerators(ctx, l)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("moderator notice %s: %w", addr, err))
		}
	}
	expired, err := s.opts.Lists.ExpireHeld(ctx, s.opts.Now())
	if err != nil {
		errs = append(errs, err)
	}
	for _, h := range expired {
		if err := s.expiredNotice(ctx, h); err != nil {
			errs = append(errs, fmt.Errorf("expiry notice %s #%d: %w", h.List, h.ID, err))
		}
	}
	if err := s.retryArchive(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.digests(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.expireProbes(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Server) expiredNotice(ctx context.Context, h *lists.HeldPost) error {
	l, err := s.opts.Lists.GetList(ctx, h.List)
	if err != nil {
		return err
	}
	msg, err := parseMessage(h.Raw, h.EnvelopeFrom, 1)
	if err != nil || !autoReplyOK(msg) {
		return err
	}
	text := fmt.Sprintf("Your message to %s\n\n  Subject: %s\n\nwas held for moderation since %s and no moderator "+
		"decided in time, so it was dropped. You may send it again.\n", l.Address(), h.Subject, h.Held.UTC().Format("2 Jan 2006"))
	_, err = s.send(ctx, notice{list: l, kind: "expired", from: lists.CompanionAddress(l.Address(), lists.AddrOwner),
		to: []string{msg.sender()}, subject: "Your message to " + l.Address() + " expired", text: text, inReply: h.MessageID})
	return err
}
