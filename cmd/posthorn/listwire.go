package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/control"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/listserv"
	"github.com/posthorn/posthorn/internal/queue"
	"github.com/posthorn/posthorn/internal/route"
	"github.com/posthorn/posthorn/internal/smtpd"
	"github.com/posthorn/posthorn/internal/spool"
)

// openListServer opens the list store in db and the list server that the
// queue delivers list recipients to.
func (d *daemon) openListServer(ctx context.Context, db *sql.DB, cfg *config.Config) error {
	secret, err := listSecret(secretPath(cfg))
	if err != nil {
		return err
	}
	st, err := lists.New(ctx, db, lists.Options{Secret: secret, Logger: d.logger})
	if err != nil {
		return err
	}
	l := cfg.Lists
	srv, err := listserv.New(ctx, listserv.Options{
		Lists: st, Chain: lists.NewChain(st, lists.ChainOptions{Log: d.mlog}), DB: db,
		Submit: d.submit, Hostname: cfg.Hostname, SiteURL: l.SiteURL,
		Logger: d.logger, MailLog: d.mlog,
		HoldExpiry: l.HoldExpiry.Std(), ModeratorNoticeInterval: l.ModeratorNoticeInterval.Std(),
		SenderNoticesPerDay: l.SenderNoticesPerDay, BounceThreshold: l.BounceThreshold,
		BounceWindow: l.BounceWindow.Std(),
		BounceProbes: l.BounceProbes, BounceProbeWait: l.BounceProbeWait.Std(),
		Archive: archiveHook(d.archive),
	})
	if err != nil {
		return err
	}
	d.lists, d.listSrv = st, srv
	return nil
}

// submit puts a message the list server made durably into the queue.
func (d *daemon) submit(env *spool.Envelope, body io.Reader) (string, error) {
	if env.Service == "" {
		env.Service = "lists"
	}
	if env.Client == "" {
		env.Client = "local"
	}
	w, err := d.q.Create(env)
	if err != nil {
		return "", err
	}
	if _, err := w.ReadFrom(body); err != nil {
		w.Abort()
		return "", err
	}
	m, err := d.q.Commit(w)
	if err != nil {
		return "", err
	}
	return m.Env.ID, nil
}

// queuePolicy is the queue policy of cfg: list recipients to the list
// server, the rest to the current courier.
func (d *daemon) queuePolicy(cfg *config.Config) queue.Policy {
	r := &route.Router{Remote: d.courier()}
	var pers queue.Personalizer
	if d.listSrv != nil {
		pers = d.listSrv // list posts already in the spool go out even when the list domain is gone
	}
	if len(cfg.Lists.Domains) > 0 && d.listSrv != nil {
		r.Local = d.listSrv
		r.IsLocal = func(rcpt string) bool { return cfg.IsListDomain(route.DomainOf(rcpt)) }
	}
	return queue.Policy{Courier: r, Hostname: cfg.Hostname, Personalizer: pers,
		RetrySchedule: durations(cfg.Delivery.RetrySchedule),
		MaxLifetime:   cfg.Delivery.MaxLifetime.Std(), DelayWarning: cfg.Delivery.DelayWarning.Std()}
}

// localAnswer is the SMTP server's view of list addresses under cfg.
func (d *daemon) localAnswer(cfg *config.Config) func(string) smtpd.LocalAnswer {
	if len(cfg.Lists.Domains) == 0 || d.lists == nil {
		return nil
	}
	return func(addr string) smtpd.LocalAnswer {
		if !cfg.IsListDomain(route.DomainOf(addr)) {
			return smtpd.NotLocal
		}
		_, _, _, err := d.lists.ResolveAddress(context.Background(), addr)
		var nf *lists.NotFoundError
		var inv *lists.InvalidError
		switch {
		case err == nil:
			return smtpd.LocalKnown
		case errors.As(err, &nf), errors.As(err, &inv):
			return smtpd.LocalUnknown
		default:
			d.logger.Error("list address lookup failed", slog.String("addr", addr), slog.String("error", err.Error()))
			return smtpd.LocalError
		}
	}
}

// heldCount feeds the held_messages check.
func (d *daemon) heldCount(ctx context.Context) (int, error) {
	return d.lists.CountHeld(ctx)
}

// Held implements control.ListOps.
func (d *daemon) Held(ctx context.Context, list string) ([]control.HeldPost, error) {
	posts, err := d.lists.Held(ctx, list, 1000, 0)
	if err != nil {
		return nil, err
	}
	out := make([]control.HeldPost, 0, len(posts))
	for _, p := range posts {
		out = append(out, control.HeldPost{ID: p.ID, MessageID: p.MessageID, Sender: p.Sender, Subject: p.Subject,
			Rule: p.Rule, Reason: p.Reason, Size: p.Size, Held: p.Held, Expires: p.Expires})
	}
	return out, nil
}

// Moderate implements control.ListOps: the list server sends what the
// decision makes through the queue before the post leaves the queue.
func (d *daemon) Moderate(ctx context.Context, list string, id int64, action, reason, moderator string) error {
	a, err := lists.ParseModAction(action)
	if err != nil {
		return err
	}
	return d.listSrv.Moderate(ctx, list, id, a, reason, moderator)
}
