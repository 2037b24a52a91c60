package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/accountweb"
	"github.com/posthorn/posthorn/internal/archiveweb"
	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/listapi"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/trace"
	"github.com/posthorn/posthorn/internal/web"
	"github.com/posthorn/posthorn/internal/webui"
)

// webApp is the web interface: accounts and sessions (web.Auth) in front
// of the list pages, the account pages and the archive, on the daemon's
// HTTP listener.
//
// The parts that depend on reloadable settings (lists.site_url: reset
// links, cookie security, archive feed links; http.operator_networks) are
// built per configuration generation (webGen): a reload builds a new
// generation and swaps it in atomically, and a request in flight finishes
// with the one it started with. The parts with state of their own (the
// accounts store, the list pages and their rate limits, the account
// pages) live for the whole process and are shared by every generation.
type webApp struct {
	accounts *accounts.Store
	renderer *web.Renderer
	ui       *webui.UI
	api      *listapi.API
	account  *accountweb.Handler
	// newAuth and archiveOpts are the generation-independent parts of
	// the login layer and the archive pages.
	newAuth     func(site string) *web.Auth
	archiveOpts archiveweb.Options
	logger      *slog.Logger

	settings webSettings             // of the configuration openWeb was given
	operator map[string]http.Handler // operator pages, set by routes
	gen      atomic.Pointer[webGen]
}

// openWeb builds the web interface over db (data_dir/posthorn.db, shared
// with the lists). It needs the list server (d.listSrv).
func (d *daemon) openWeb(ctx context.Context, db *sql.DB, cfg *config.Config) (*webApp, error) {
	acc, err := accounts.New(ctx, db, accounts.Options{Logger: d.logger})
	if err != nil {
		return nil, fmt.Errorf("opening the accounts: %w", err)
	}
	rd, err := web.NewRenderer(d.logger)
	if err != nil {
		return nil, err
	}
	app := &webApp{accounts: acc, renderer: rd, logger: d.logger, settings: webSettingsOf(cfg)}
	app.newAuth = func(site string) *web.Auth {
		return &web.Auth{
			Accounts: acc, Renderer: rd, Secure: site != "" && web.SecureSite(site), Logger: d.logger,
			SiteURL: site,
			// The one-click unsubscribe POST (RFC 8058) carries its signed
			// token and no cookies.
			SelfAuthenticating: func(r *http.Request) bool {
				p := r.URL.Path // /lists/LIST/unsubscribe
				return r.Method == http.MethodPost && strings.HasPrefix(p, "/lists/") &&
					strings.HasSuffix(p, "/unsubscribe") && strings.Count(p, "/") == 3
			},
			SendReset: func(ctx context.Context, email, link string) error {
				return d.sendReset(d.config().Hostname, email, link)
			},
		}
	}
	audit := func(ctx context.Context, e webui.AuditEntry) error {
		return acc.Audit(ctx, accounts.Entry{Actor: e.Actor, Action: e.Action, List: e.List, Target: e.Target, Detail: e.Detail})
	}
	opts := webui.Options{
		Lists: d.lists, Moderate: d.listSrv.ModerateMany, Audit: audit,
		Renderer: rd, Logger: d.logger,
		Subscribe: func(ctx context.Context, list, addr string) (lists.SubscribeResult, error) {
			return d.listSrv.Subscribe(ctx, list, addr, "web")
		},
		// A list that is not advertised is hidden from everyone without a
		// role on it.
		Private:     func(l *lists.List) bool { return !l.Settings.Advertised },
		Confirm:     d.listSrv.ConfirmToken,
		LookupToken: d.lists.LookupToken,
		AuditLog: func(ctx context.Context, list string, before int64, limit int) ([]webui.AuditRow, error) {
			es, err := acc.AuditLog(ctx, accounts.Filter{List: list, Before: before, Limit: limit})
			if err != nil {
				return nil, err
			}
			rows := make([]webui.AuditRow, 0, len(es))
			for _, e := range es {
				rows = append(rows, webui.AuditRow{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail})
			}
			return rows, nil
		},
	}
	if d.trace != nil {
		opts.Trace = d.listTrace
	}
	app.ui, err = webui.New(opts)
	if err != nil {
		return nil, err
	}
	app.api, err = listapi.New(listapi.Options{
		Lists: d.lists, Moderate: d.listSrv.ModerateMany, Audit: acc.Audit,
		Private: opts.Private, Decisions: d.lists.DecisionsBefore, Logger: d.logger,
	})
	if err != nil {
		return nil, err
	}
	app.account, err = accountweb.New(accountweb.Options{Accounts: acc, Renderer: rd, Logger: d.logger, Roles: d.listRoles})
	if err != nil {
		return nil, err
	}
	app.archiveOpts = archiveweb.Options{
		Archive: d.archive, Lists: d.lists, Renderer: rd, Logger: d.logger,
		// Archives of lists that are not advertised are for their members.
		Private: func(l *lists.List) bool {
			return l.Settings.ArchivePolicy != lists.ArchivePolicyPublic || !l.Settings.Advertised
		},
		Delete: func(ctx context.Context, list string, n int64, reason, by string) error {
			if err := d.archive.Delete(ctx, list, n, reason, by); err != nil {
				return err
			}
			return acc.Audit(ctx, accounts.Entry{Actor: by, Action: "archive.delete", List: list, Target: fmt.Sprint(n), Detail: reason})
		},
	}
	// Build the first generation now, so that a broken template stops
	// the start rather than a later reload.
	if _, err := app.build(http.NewServeMux(), app.settings); err != nil {
		return nil, err
	}
	return app, nil
}

// routes registers the web interface on mux and returns the handler of
// the whole site. Operator pages (dashboard, trace) are passed in so that
// they get the same session and the operator check; they are kept for
// the generations reloads build.
func (a *webApp) routes(mux *http.ServeMux, operator map[string]http.Handler) http.Handler {
	a.operator = operator
	g, err := a.build(mux, a.settings)
	if err != nil { // unreachable: openWeb built the same parts already
		a.logger.Error("web interface not started", slog.String("error", err.Error()))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "The web interface failed to start; see the log.", http.StatusServiceUnavailable)
		})
	}
	a.gen.Store(g)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.gen.Load().handler.ServeHTTP(w, r)
	})
}

// operatorOnly lets through site admins and clients on nets (by default
// loopback: the host's own monitoring and shell).
func (a *webApp) operatorOnly(next http.Handler, nets []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := web.ViewerFrom(r.Context()); v != nil && v.SiteAdmin {
			next.ServeHTTP(w, r)
			return
		}
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			for _, p := range nets {
				if p.Contains(ap.Addr().Unmap()) {
					next.ServeHTTP(w, r)
					return
				}
			}
		}
		if web.ViewerFrom(r.Context()) == nil && r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?next="+strings.TrimPrefix(r.URL.RequestURI(), ""), http.StatusSeeOther)
			return
		}
		a.renderer.Error(w, r, http.StatusForbidden, "This page is for site administrators.")
	})
}

// listRoles is the account page's list of the lists email owns or
// moderates (an owner is shown as owner only).
func (d *daemon) listRoles(ctx context.Context, email string) ([]accountweb.ListRole, error) {
	all, err := d.lists.Lists(ctx)
	if err != nil {
		return nil, err
	}
	var out []accountweb.ListRole
	for _, l := range all {
		r, err := d.lists.RolesOf(ctx, l.Address(), email)
		if err != nil {
			return nil, err
		}
		switch {
		case r.Owner:
			out = append(out, accountweb.ListRole{List: l.Address(), Role: string(lists.RoleOwner)})
		case r.Moderator:
			out = append(out, accountweb.ListRole{List: l.Address(), Role: string(lists.RoleModerator)})
		}
	}
	return out, nil
}

// listTrace is the message trace scoped to one list: only the list's own
// events and those of no list (deliveries to its members).
func (d *daemon) listTrace(ctx context.Context, list, query string) ([]webui.TraceRow, error) {
	msgs, err := d.trace.Lookup(ctx, trace.Query{Text: query, List: list, Limit: 100})
	if err != nil {
		return nil, err
	}
	var rows []webui.TraceRow
	for _, m := range msgs {
		for _, e := range m.Events {
			if e.List != "" && !strings.EqualFold(e.List, list) {
				continue
			}
			rows = append(rows, webui.TraceRow{Time: e.Time, Kind: e.Kind, QueueID: e.QueueID, MessageID: e.MessageID,
				From: e.Sender, Rcpt: e.Rcpt, Action: e.Action, Detail: e.Details(time.UTC)})
		}
	}
	return rows, nil
}

// sendReset mails a password reset link through the queue, from the null
// sender so that a bad address causes no bounce.
func (d *daemon) sendReset(hostname, email, link string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Posthorn <postmaster@%s>\r\nTo: <%s>\r\nSubject: %s\r\n", hostname, email, mime.QEncoding.Encode("utf-8", "Password reset"))
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <reset.%d@%s>\r\nAuto-Submitted: auto-generated\r\n", time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), hostname)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	fmt.Fprintf(&b, "Someone asked to reset the password of %s.\r\n\r\nTo choose a new password, open this link within an hour:\r\n\r\n  %s\r\n\r\nIf it was not you, ignore this message; the password stays as it is.\r\n", email, link)
	id, err := d.submit(&spool.Envelope{From: "", Rcpts: []string{email}, Service: "web"}, &b)
	if err != nil {
		d.logger.Error("password reset mail not queued", slog.String("error", err.Error()))
		return err
	}
	d.logger.Info("password reset mail queued", slog.String("queue_id", id))
	return nil
}
