package listserv

import (
	"context"
	"errors"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// doSet runs "set digest on|off|plain|mime" (also yes, no) for addr, the
// sender of a message to name-request, and returns a line for the answer.
// "plain" and "mime" choose the digest's form (RFC 1153 text, or MIME) and
// switch to digests; "on" switches to digests in the form chosen before
// (MIME unless plain was chosen). A From can be forged, but the change is
// only the member's delivery mode, the answer goes to the member's own
// address and "set digest off" undoes it, so it takes effect without a
// confirmation round trip.
func (s *Server) doSet(ctx context.Context, l *lists.List, addr, arg string) string {
	f := strings.Fields(strings.ToLower(arg))
	if len(f) != 2 || f[0] != "digest" {
		return "Unknown option; the one there is: set digest on|off|plain|mime."
	}
	var mode lists.DeliveryMode
	var format lists.DigestFormat
	switch f[1] {
	case "on", "yes", "true":
		mode = lists.ModeDigest
	case "plain", "text":
		mode, format = lists.ModeDigest, lists.DigestPlain
	case "mime":
		mode, format = lists.ModeDigest, lists.DigestMIME
	case "off", "no", "false":
		mode = lists.ModeRegular
	default:
		return "set digest takes on, off, plain or mime."
	}
	if mode == lists.ModeDigest && !l.Settings.DigestEnabled {
		return l.Address() + " does not send digests."
	}
	var err error
	if format != "" {
		err = s.opts.Lists.SetDigestFormat(ctx, l.Address(), addr, format)
	}
	if err == nil {
		err = s.opts.Lists.SetDeliveryMode(ctx, l.Address(), addr, mode)
	}
	var nf *lists.NotFoundError
	var inv *lists.InvalidError
	switch {
	case errors.As(err, &nf) || errors.As(err, &inv):
		return addr + " is not a member."
	case err != nil:
		s.log.Error("listserv: set digest failed", errAttr(err))
		return "Changing the delivery mode failed; try again later."
	case format == lists.DigestPlain:
		return addr + " now gets plain-text digests instead of each post (MIME digests: set digest mime; each post: set digest off)."
	case format == lists.DigestMIME:
		return addr + " now gets MIME digests instead of each post (plain-text digests: set digest plain; each post: set digest off)."
	case mode == lists.ModeDigest:
		return addr + " now gets digests instead of each post (undo with: set digest off)."
	}
	return addr + " now gets each post as it is sent (undo with: set digest on)."
}
