package listserv

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// Subscriptions from the web and by mail.
//
// Subscribe, Unsubscribe and ConfirmToken do what messages to name-join,
// name-leave and name-confirm+TOKEN do, for callers that are not mail (the
// web UI, the API); the mail commands use them too:
//
//	Subscribe ─ open ──────────────▶ member
//	          ─ confirm ───────────▶ pending; token mailed to the address
//	          ─ moderate ──────────▶ pending; moderators told
//	Unsubscribe ───────────────────▶ pending; token mailed to the address
//	ConfirmToken(token) ─ subscribe ─▶ member, or (confirm-then-moderate)
//	                                   pending approval; moderators told
//	                    ─ unsubscribe ▶ not a member
//
// A token reaches only the mailbox it was made for: the confirmation mail
// names the name-confirm+TOKEN address and, with Options.SiteURL, the
// page ConfirmURL; the results returned here never carry it.

// SendError says that a request was recorded but the mail it needed (the
// confirmation request) could not be submitted; asking again sends a new
// token.
type SendError struct {
	What string // "confirmation request", ...
	Err  error
}

func (e *SendError) Error() string { return "listserv: sending the " + e.What + ": " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Subscribe asks for addr to join list by way of via ("web", "api",
// "mail"), following the list's subscription policy, and sends what the
// policy needs: the confirmation request to addr (state PendingConfirm), or
// a notice to the list's moderators and owners (PendingApproval). Errors
// are those of lists.Store.Subscribe (*lists.ExistsError for a member,
// *lists.InvalidError for a bad address, *lists.NotFoundError for an
// unknown list), or a *SendError. The result's Token is always empty.
func (s *Server) Subscribe(ctx context.Context, list, addr, via string) (lists.SubscribeResult, error) {
	l, err := s.opts.Lists.GetList(ctx, list)
	if err != nil {
		return lists.SubscribeResult{}, err
	}
	res, err := s.opts.Lists.Subscribe(ctx, l.Address(), addr, via)
	if err != nil {
		return withoutToken(res), err
	}
	switch res.State {
	case lists.PendingConfirm:
		if err := s.sendConfirmation(ctx, l, res); err != nil {
			s.logNoticeErr(l, "confirm", err)
			return withoutToken(res), &SendError{What: "confirmation request", Err: err}
		}
	case lists.PendingApproval:
		s.requestNotice(ctx, l, res, via)
	}
	return withoutToken(res), nil
}

// Unsubscribe asks addr, by mail, to confirm leaving list (state
// PendingUnsubscribe): a request by mail or from a web form can name
// anybody's address. The signed one-click link (lists.Store.UnsubscribeToken)
// is proof of the address and unsubscribes with lists.Store.Unsubscribe
// instead. An address that is not a member is a *lists.NotFoundError; a
// failed mail a *SendError. The result's Token is always empty.
func (s *Server) Unsubscribe(ctx context.Context, list, addr, via string) (lists.SubscribeResult, error) {
	l, err := s.opts.Lists.GetList(ctx, list)
	if err != nil {
		return lists.SubscribeResult{}, err
	}
	res, err := s.opts.Lists.RequestUnsubscribe(ctx, l.Address(), addr, via)
	if err != nil {
		return withoutToken(res), err
	}
	caddr := lists.ConfirmAddress(l.Address(), res.Token)
	text := fmt.Sprintf("Someone (hopefully you) asked to unsubscribe %s from %s.\n\n"+
		"To confirm, reply to this message, or send a message to\n\n  %s\n\n%s"+
		"before %s. If you did not ask, ignore this message: you stay subscribed.\n",
		res.Address, l.Address(), caddr, s.linkLine(l, res.Token), expiry(res.Expires))
	if _, err := s.send(ctx, notice{list: l, kind: "confirm-unsubscribe", from: caddr, replyTo: caddr,
		to: []string{res.Address}, subject: "confirm " + res.Token, text: text}); err != nil {
		s.logNoticeErr(l, "confirm-unsubscribe", err)
		return withoutToken(res), &SendError{What: "confirmation request", Err: err}
	}
	return withoutToken(res), nil
}

// ConfirmToken completes what token was mailed for (lists.Store.Confirm):
// State Subscribed, PendingApproval (the moderators are then told) or
// Unsubscribed. An unknown or expired token is a *lists.TokenError. A web
// page should confirm on POST only, showing a button on GET
// (lists.Store.LookupToken tells what the token is for), so that a link
// checker opening the link confirms nothing.
func (s *Server) ConfirmToken(ctx context.Context, token string) (lists.SubscribeResult, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return lists.SubscribeResult{}, &lists.TokenError{}
	}
	res, err := s.opts.Lists.Confirm(ctx, token)
	if err != nil {
		return withoutToken(res), err
	}
	if res.State == lists.PendingApproval {
		if l, err := s.opts.Lists.GetList(ctx, res.List); err == nil {
			s.requestNotice(ctx, l, res, "confirmed")
		} else {
			s.log.Error("listserv: subscription request notice", errAttr(err))
		}
	}
	return withoutToken(res), nil
}

// ConfirmURL is the web page that confirms token for list l ("" without
// Options.SiteURL): SiteURL/lists/LIST/confirm/TOKEN.
func (s *Server) ConfirmURL(l *lists.List, token string) string {
	u := s.listURL(l)
	if u == "" {
		return ""
	}
	return u + "confirm/" + url.PathEscape(token)
}

func withoutToken(r lists.SubscribeResult) lists.SubscribeResult {
	r.Token = ""
	return r
}

func expiry(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 MST") }

// linkLine is the "or open this page" paragraph of a confirmation request.
func (s *Server) linkLine(l *lists.List, token string) string {
	if u := s.ConfirmURL(l, token); u != "" {
		return "or open this page and press the button there:\n\n  " + u + "\n\n"
	}
	return ""
}
