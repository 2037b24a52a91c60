package listserv

import (
	"context"
	"errors"
	"fmt"

	"github.com/posthorn/posthorn/internal/lists"
)

// requestsURL is the web page where moderators approve or reject the
// subscription requests of l (SITE/lists/LIST/requests); "" without a site
// URL.
func (s *Server) requestsURL(l *lists.List) string {
	if s.site() == "" {
		return ""
	}
	return s.listURL(l) + "requests"
}

// requestNotice tells l's moderators and owners that res waits for their
// approval, with a link to the requests page when the site URL is set. A
// failure is logged: the request stays pending and visible.
func (s *Server) requestNotice(ctx context.Context, l *lists.List, res lists.SubscribeResult, via string) {
	mods, err := s.moderators(ctx, l)
	if err == nil && len(mods) == 0 {
		return
	}
	if err == nil {
		text := fmt.Sprintf("%s asked to join %s (by way of %s) and waits for approval.\n\n", res.Address, l.Address(), via)
		if u := s.requestsURL(l); u != "" {
			text += "An owner or moderator can approve or reject the request on this page:\n\n  " + u + "\n"
		} else {
			text += "An owner or moderator can approve or reject the request.\n"
		}
		_, err = s.send(ctx, notice{list: l, kind: "subscription-request", from: lists.CompanionAddress(l.Address(), lists.AddrOwner),
			to: mods, subject: "Subscription request for " + l.Address() + ": " + res.Address, text: text, generated: true})
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		s.logNoticeErr(l, "subscription-request", err)
	}
}
