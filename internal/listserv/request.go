package listserv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/spool"
)

// maxCommands bounds the body lines read as commands.
const maxCommands = 10

// request runs the commands in a message to name-request: the subject,
// then the body's first lines until "end", a signature or a non-command.
// One answer lists what each command did.
func (s *Server) request(ctx context.Context, l *lists.List, msg *message) error {
	if !autoReplyOK(msg) {
		return nil
	}
	var lines []string
	if subj := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg.subject()), "Re:")); subj != "" {
		lines = append(lines, subj)
	}
	sc := bufio.NewScanner(bytes.NewReader(msg.body))
	for sc.Scan() && len(lines) < maxCommands+1 {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if line == "--" || strings.EqualFold(line, "end") || strings.HasPrefix(line, ">") {
			break
		}
		lines = append(lines, line)
	}
	who := msg.replyAddr()
	var out strings.Builder
	known := 0
	for _, line := range lines {
		cmd, arg, _ := strings.Cut(line, " ")
		var res string
		switch strings.ToLower(cmd) {
		case "subscribe", "join":
			res = s.doSubscribe(ctx, l, who)
		case "unsubscribe", "leave":
			res = s.doUnsubscribe(ctx, l, who)
		case "confirm":
			res = s.doConfirm(ctx, l, strings.TrimSpace(arg))
		case "set":
			res = s.doSet(ctx, l, who, arg)
		case "help":
			res = helpText(l)
		default:
			continue
		}
		known++
		fmt.Fprintf(&out, "> %s\n%s\n\n", line, res)
	}
	if known == 0 {
		out.WriteString("No command found.\n\n" + helpText(l))
	}
	_, err := s.send(ctx, notice{list: l, kind: "command", from: lists.CompanionAddress(l.Address(), lists.AddrRequest),
		to: []string{who}, subject: "Results of your request to " + l.Address(), text: out.String(),
		inReply: msg.get("Message-Id")})
	return err
}

func helpText(l *lists.List) string {
	a := l.Address()
	digest := ""
	if l.Settings.DigestEnabled {
		digest = "  set digest on|off   get digests instead of each post, or each post again\n" +
			"  set digest plain    get digests as plain text (RFC 1153)\n" +
			"  set digest mime     get digests as MIME, posts whole with attachments\n"
	}
	return fmt.Sprintf("Commands for %s, sent to %s in the subject or the body:\n"+
		"  subscribe     join the list (or mail %s)\n"+
		"  unsubscribe   leave the list, after confirming (or mail %s)\n"+
		"%s"+
		"  help          this text\n",
		a, lists.CompanionAddress(a, lists.AddrRequest), lists.CompanionAddress(a, lists.AddrJoin),
		lists.CompanionAddress(a, lists.AddrLeave), digest)
}

// doSubscribe subscribes addr following the list's policy (Subscribe) and
// returns a line for the answer.
func (s *Server) doSubscribe(ctx context.Context, l *lists.List, addr string) string {
	res, err := s.Subscribe(ctx, l.Address(), addr, "mail")
	var ex *lists.ExistsError
	var se *SendError
	switch {
	case errors.As(err, &ex):
		return addr + " is already a member."
	case errors.As(err, &se):
		return "Could not send the confirmation request; try again later."
	case err != nil:
		s.log.Error("listserv: subscribe failed", errAttr(err))
		return "Subscription failed; try again later."
	}
	switch res.State {
	case lists.PendingConfirm:
		return "A confirmation request was sent to " + res.Address + "."
	case lists.PendingApproval:
		return "Your request waits for a moderator's approval."
	}
	return res.Address + " is now subscribed."
}

// sendConfirmation mails the token: replying to it (to name-confirm+TOKEN)
// or, with a SiteURL, the button on the page ConfirmURL confirms.
func (s *Server) sendConfirmation(ctx context.Context, l *lists.List, res lists.SubscribeResult) error {
	addr := lists.ConfirmAddress(l.Address(), res.Token)
	text := fmt.Sprintf("Someone (hopefully you) asked to subscribe %s to %s.\n\n"+
		"To confirm, reply to this message, or send a message to\n\n  %s\n\n%s"+
		"before %s. If you did not ask, ignore this message.\n",
		res.Address, l.Address(), addr, s.linkLine(l, res.Token), expiry(res.Expires))
	_, err := s.send(ctx, notice{list: l, kind: "confirm", from: addr, replyTo: addr, to: []string{res.Address},
		subject: "confirm " + res.Token, text: text})
	return err
}

// doUnsubscribe asks addr to confirm leaving l (Unsubscribe): a message to
// a list address can carry anybody's From, so only the token, mailed to
// addr, unsubscribes (the signed one-click link of List-Unsubscribe needs
// no confirmation and is handled by the web UI).
func (s *Server) doUnsubscribe(ctx context.Context, l *lists.List, addr string) string {
	res, err := s.Unsubscribe(ctx, l.Address(), addr, "mail")
	var nf *lists.NotFoundError
	var inv *lists.InvalidError
	var se *SendError
	switch {
	case errors.As(err, &nf) || errors.As(err, &inv):
		return addr + " is not a member."
	case errors.As(err, &se):
		return "Could not send the confirmation request; try again later."
	case err != nil:
		s.log.Error("listserv: unsubscribe failed", errAttr(err))
		return "Unsubscribing failed; try again later."
	}
	return "A confirmation request was sent to " + res.Address + "; you stay subscribed until you answer it."
}

func (s *Server) doConfirm(ctx context.Context, l *lists.List, token string) string {
	if token == "" {
		return "confirm needs the token."
	}
	res, err := s.ConfirmToken(ctx, token)
	var te *lists.TokenError
	switch {
	case errors.As(err, &te) && te.Expired:
		return "The confirmation token has expired; subscribe again."
	case errors.As(err, &te):
		return "Unknown confirmation token."
	case err != nil:
		s.log.Error("listserv: confirm failed", errAttr(err))
		return "Confirmation failed; try again later."
	case res.State == lists.PendingApproval:
		return "Confirmed; your subscription now waits for a moderator's approval."
	case res.State == lists.Unsubscribed:
		return res.Address + " was unsubscribed from " + res.List + "."
	}
	return res.Address + " is now subscribed to " + res.List + "."
}

// join and leave act for the sender of a message to name-join/name-leave.
func (s *Server) join(ctx context.Context, l *lists.List, msg *message) error {
	return s.answer(ctx, l, msg, s.doSubscribe(ctx, l, msg.replyAddr()))
}

func (s *Server) leave(ctx context.Context, l *lists.List, msg *message) error {
	return s.answer(ctx, l, msg, s.doUnsubscribe(ctx, l, msg.replyAddr()))
}

// confirm handles name-confirm+TOKEN, or name-confirm with "confirm TOKEN"
// in the subject (a reply to the request).
func (s *Server) confirm(ctx context.Context, l *lists.List, msg *message, token string) error {
	if token == "" {
		subj := strings.Fields(msg.subject())
		for i, w := range subj {
			if strings.EqualFold(w, "confirm") && i+1 < len(subj) {
				token = subj[i+1]
			}
		}
	}
	return s.answer(ctx, l, msg, s.doConfirm(ctx, l, token))
}

func (s *Server) answer(ctx context.Context, l *lists.List, msg *message, text string) error {
	if !autoReplyOK(msg) {
		return nil
	}
	_, err := s.send(ctx, notice{list: l, kind: "command", from: lists.CompanionAddress(l.Address(), lists.AddrRequest),
		to: []string{msg.replyAddr()}, subject: "Your request to " + l.Address(), text: text + "\n",
		inReply: msg.get("Message-Id")})
	return err
}

// toOwners forwards a message to name-owner to the list's owners, unchanged.
func (s *Server) toOwners(ctx context.Context, l *lists.List, msg *message) error {
	owners, err := s.owners(ctx, l)
	if err != nil {
		return err
	}
	if len(owners) == 0 {
		return smtperr.New(550, [3]int{5, 1, 1}, "%s has no owner", l.Address())
	}
	env := &spool.Envelope{From: lists.CompanionAddress(l.Address(), lists.AddrBounces), Rcpts: owners,
		Arrival: s.opts.Now(), MessageID: msg.get("Message-Id"), Service: "lists", Client: "local"}
	_, err = s.opts.Submit(env, bytes.NewReader(msg.raw))
	return err
}
