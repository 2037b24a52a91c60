package webui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/listserv"
	"github.com/posthorn/posthorn/internal/web"
)

// indexRow is one list of the lists index.
type indexRow struct {
	List  *lists.List
	Roles []string // the viewer's roles on it
}

// index shows the advertised lists and those the viewer has a role on (a
// site admin: every list).
func (u *UI) index(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	all, err := u.o.Lists.Lists(ctx)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	v := web.ViewerFrom(ctx)
	var rows []indexRow
	for _, l := range all {
		row := indexRow{List: l}
		if v != nil {
			a, err := u.accessTo(ctx, v, l)
			if err != nil {
				u.fail(w, r, err)
				return
			}
			row.Roles = roleNames(a)
			if u.unlisted(l) && !a.any() {
				continue
			}
		} else if u.unlisted(l) {
			continue
		}
		rows = append(rows, row)
	}
	u.render(w, r, http.StatusOK, "Mailing lists", nil, "index", rows)
}

// unlisted reports whether l is left out of the index for viewers without
// a role on it: it is not advertised, or it is private. An unadvertised
// list's pages stay reachable by their address unless Options.Private
// hides them too.
func (u *UI) unlisted(l *lists.List) bool { return !l.Settings.Advertised || u.private(l) }

func roleNames(a *access) []string {
	var out []string
	switch {
	case a.Owner && !a.SiteAdmin():
		out = append(out, "owner")
	case a.Moderator && !a.SiteAdmin():
		out = append(out, "moderator")
	case a.SiteAdmin():
		out = append(out, "site admin")
	}
	if a.Member {
		out = append(out, "member")
	}
	return out
}

// flash returns the message shown after a redirect, by code: never text
// taken from the URL.
func flash(code string) (notice, problem string) {
	switch code {
	case "subscribed":
		return "You are subscribed.", ""
	case "confirm":
		return "A confirmation request was sent. Follow it to complete the subscription.", ""
	case "approval":
		return "Your request waits for a moderator's approval.", ""
	case "exists":
		return "", "That address is already subscribed."
	case "unsubscribed":
		return "You were unsubscribed.", ""
	case "paused":
		return "Delivery is paused: you stay a member but receive no posts.", ""
	case "resumed":
		return "Delivery is on again.", ""
	case "digest":
		return "Your delivery mode and digest format were saved.", ""
	}
	return "", ""
}

// overviewData is the overview page.
type overviewData struct {
	A           *access
	Subscribers int
	Notice      string
	Problem     string
	Address     string // the subscribe form's value
	Paused      bool
	// Mode and DigestFormat are the member's: "regular" or "digest",
	// "mime" or "plain".
	Mode, DigestFormat string
	// Archive is the URL of the list's archive when the viewer may read
	// it; ArchivePrivate says it is for members only.
	Archive        string
	ArchivePrivate bool
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request, a *access) {
	d := overviewData{A: a, Address: a.Email()}
	d.Notice, d.Problem = flash(r.URL.Query().Get("done"))
	u.showOverview(w, r, http.StatusOK, d)
}

func (u *UI) showOverview(w http.ResponseWriter, r *http.Request, status int, d overviewData) {
	n, err := u.o.Lists.CountMembers(r.Context(), d.A.List.Address(), lists.RoleMember)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Subscribers = n
	d.Paused = d.A.Self != nil && d.A.Self.Delivery != lists.DeliveryEnabled
	d.Mode, d.DigestFormat = string(lists.ModeRegular), string(lists.DigestMIME)
	if d.A.Self != nil {
		if d.A.Self.Mode.Valid() {
			d.Mode = string(d.A.Self.Mode)
		}
		if d.A.Self.DigestFormat.Valid() {
			d.DigestFormat = string(d.A.Self.DigestFormat)
		}
	}
	d.Archive, d.ArchivePrivate = u.archiveLink(d.A)
	title := d.A.List.DisplayName
	if title == "" {
		title = d.A.List.Address()
	}
	u.render(w, r, status, title, nav(d.A, ""), "overview", d)
}

// archiveLink returns the URL of a's list archive ("" when posts are not
// archived or the viewer may not read them) and whether the archive is
// for members only. It follows the archive pages' rule: a public archive
// of a list that is not private is open to anybody, any other archive to
// the list's members, moderators and owners and to site admins.
func (u *UI) archiveLink(a *access) (link string, private bool) {
	p := a.List.Settings.ArchivePolicy
	if !p.Archived() {
		return "", false
	}
	private = p != lists.ArchivePolicyPublic || u.private(a.List)
	if private && !a.any() {
		return "", true
	}
	return "/archive/" + url.PathEscape(a.List.Address()) + "/", private
}

// subscribe starts the subscription of the address in the form.
func (u *UI) subscribe(w http.ResponseWriter, r *http.Request, a *access) {
	addr := strings.TrimSpace(r.PostFormValue("address"))
	if addr == "" {
		addr = a.Email()
	}
	if !u.subscribeAllowed(w, r, a, addr) {
		return
	}
	sub := u.o.Subscribe
	if sub == nil {
		sub = func(ctx context.Context, list, addr string) (lists.SubscribeResult, error) {
			return u.o.Lists.Subscribe(ctx, list, addr, "web")
		}
	}
	res, err := sub(r.Context(), a.List.Address(), addr)
	var ex *lists.ExistsError
	var inv *lists.InvalidError
	var se *listserv.SendError
	switch {
	case errors.As(err, &se):
		// The request is recorded but its mail did not leave: asking again
		// later sends a new one.
		u.log.Warn("webui: subscription mail not sent", slog.String("list", a.List.Address()), errAttr(err))
		u.audit(r.Context(), AuditEntry{Actor: a.Email(), Action: "subscribe", List: a.List.Address(),
			Target: res.Address, Detail: string(res.State) + "; " + se.What + " not sent"})
		u.showOverview(w, r, http.StatusServiceUnavailable, overviewData{A: a, Address: addr,
			Problem: "Your request was recorded, but the " + se.What + " could not be sent just now. " +
				"Please try again later: asking again sends a new mail."})
		return
	case errors.As(err, &ex):
		redirect(w, r, listPath(a.List.Address(), ""), url.Values{"done": {"exists"}})
		return
	case errors.As(err, &inv):
		u.showOverview(w, r, http.StatusBadRequest, overviewData{A: a, Address: addr,
			Problem: "That is not an email address we can use: " + inv.Problem + "."})
		return
	case err != nil:
		u.fail(w, r, err)
		return
	}
	u.audit(r.Context(), AuditEntry{Actor: a.Email(), Action: "subscribe", List: a.List.Address(),
		Target: res.Address, Detail: string(res.State)})
	code := "subscribed"
	switch res.State {
	case lists.PendingConfirm:
		code = "confirm"
	case lists.PendingApproval:
		code = "approval"
	}
	redirect(w, r, listPath(a.List.Address(), ""), url.Values{"done": {code}})
}

// me changes the viewer's own subscription: unsubscribe, pause, resume,
// or "digest": the delivery mode (form field mode, regular or digest) and
// the digest format (format, mime or plain; unchanged when empty).
func (u *UI) me(w http.ResponseWriter, r *http.Request, a *access) {
	ctx, list, addr := r.Context(), a.List.Address(), a.Self.Address
	var err error
	var detail string
	code := r.PostFormValue("action")
	switch code {
	case "digest":
		mode, format, ok := digestForm(r)
		if !ok {
			u.o.Renderer.Error(w, r, http.StatusBadRequest, "Unknown delivery mode or digest format.")
			return
		}
		if mode == lists.ModeDigest && !a.List.Settings.DigestEnabled {
			u.o.Renderer.Error(w, r, http.StatusBadRequest, "This list does not send digests.")
			return
		}
		err = u.o.Lists.SetDeliveryMode(ctx, list, addr, mode)
		detail = "mode " + string(mode)
		if err == nil && format != "" {
			err = u.o.Lists.SetDigestFormat(ctx, list, addr, format)
			detail += ", digest format " + string(format)
		}
	case "unsubscribe":
		err = u.o.Lists.Unsubscribe(ctx, list, addr)
		code = "unsubscribed"
	case "pause":
		err = u.o.Lists.SetDelivery(ctx, list, addr, lists.DeliveryDisabledSelf)
		code = "paused"
	case "resume":
		err = u.o.Lists.SetDelivery(ctx, list, addr, lists.DeliveryEnabled)
		code = "resumed"
	default:
		u.o.Renderer.Error(w, r, http.StatusBadRequest, "Unknown action.")
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(ctx, AuditEntry{Actor: a.Email(), Action: "member." + code, List: list, Target: addr, Detail: detail})
	redirect(w, r, listPath(list, ""), url.Values{"done": {code}})
}

// digestForm reads the mode and format fields of the digest form; format
// is "" when the form has none.
func digestForm(r *http.Request) (lists.DeliveryMode, lists.DigestFormat, bool) {
	mode := lists.DeliveryMode(r.PostFormValue("mode"))
	if !mode.Valid() {
		return "", "", false
	}
	f := r.PostFormValue("format")
	if f == "" {
		return mode, "", true
	}
	format, err := lists.ParseDigestFormat(f)
	return mode, format, err == nil
}

// subscribeAllowed counts a use of the subscribe form against the limits
// per client and per address, and answers 429 past them. The list's staff
// are not limited: they may add members anyway.
func (u *UI) subscribeAllowed(w http.ResponseWriter, r *http.Request, a *access, addr string) bool {
	if a.Moderator {
		return true
	}
	now := u.o.Now()
	client := u.clientKey(r)
	ok, wait := u.byIP.allow(client, now)
	what := "from your network"
	if ok {
		if norm, _, err := lists.NormalizeAddress(addr); err == nil {
			ok, wait = u.byAddr.allow(strings.ToLower(norm), now)
			what = "for this address"
		}
	}
	if ok {
		return true
	}
	u.log.Warn("webui: subscribe form rate limited", slog.String("list", a.List.Address()),
		slog.String("client", client), slog.String("address", addr), slog.String("limit", what))
	w.Header().Set("Retry-After", fmt.Sprint(int(wait.Round(time.Second)/time.Second)+1))
	u.showOverview(w, r, http.StatusTooManyRequests, overviewData{A: a, Address: addr,
		Problem: "Too many subscription requests " + what + ". Nothing was sent; please try again in " + humanWait(wait) + "."})
	return false
}

// humanWait says roughly how long wait is.
func humanWait(wait time.Duration) string {
	switch {
	case wait <= time.Minute:
		return "a minute"
	case wait < time.Hour:
		return fmt.Sprintf("%d minutes", int(wait/time.Minute)+1)
	case wait < 2*time.Hour:
		return "an hour"
	default:
		return fmt.Sprintf("%d hours", int(wait/time.Hour)+1)
	}
}
