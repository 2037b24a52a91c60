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
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/archiveweb"
	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/trace"
	"github.com/posthorn/posthorn/internal/web"
	"github.com/posthorn/posthorn/internal/webui"
)

// webApp is the web interface: accounts and sessions (web.Auth) in front
// of the list pages and the archive, on the daemon's HTTP listener.
type webApp struct {
	accounts *accounts.Store
	auth     *web.Auth
	renderer *web.Renderer
	ui       *webui.UI
	archive  *archiveweb.Handler
	// operatorNets may see the operator pages (dashboard, trace) without
	// a site-admin login.
	operatorNets []netip.Prefix
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
	site := cfg.Lists.SiteURL
	app := &webApp{accounts: acc, renderer: rd}
	for _, n := range cfg.HTTP.OperatorNetworks {
		if p, err := netip.ParsePrefix(n); err == nil {
			app.operatorNets = append(app.operatorNets, p)
		}
	}
	app.auth = &web.Auth{
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
			return d.sendReset(cfg.Hostname, email, link)
		},
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
	app.archive, err = archiveweb.New(archiveweb.Options{
		Archive: d.archive, Lists: d.lists, Renderer: rd, Logger: d.logger, SiteURL: site,
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
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}

// routes registers the web interface on mux. Operator pages (dashboard,
// trace) are passed in so that they get the same session and the
// operator check.
func (a *webApp) routes(mux *http.ServeMux, operator map[string]http.Handler) http.Handler {
	a.auth.Routes(mux)
	a.ui.Routes(mux)
	a.archive.Routes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/lists", http.StatusSeeOther)
	})
	for pattern, h := range operator {
		mux.Handle(pattern, a.operatorOnly(h))
	}
	return a.auth.Middleware(mux)
}

// operatorOnly lets through site admins and clients on the operator
// networks (by default loopback: the host's own monitoring and shell).
func (a *webApp) operatorOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := web.ViewerFrom(r.Context()); v != nil && v.SiteAdmin {
			next.ServeHTTP(w, r)
			return
		}
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			for _, p := range a.operatorNets {
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
