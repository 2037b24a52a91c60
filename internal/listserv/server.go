package listserv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/store"
)

// SubmitFunc puts a new message durably into the relay queue and returns
// its queue id. Only after it returns nil is the message safe.
type SubmitFunc func(env *spool.Envelope, body io.Reader) (queueID string, err error)

// Options configure a Server. Zero durations and counts take the defaults.
type Options struct {
	Lists *lists.Store
	Chain *lists.Chain
	// DB is the database of Lists; listserv keeps its own tables there
	// (distribution progress, notice limits, bounces).
	DB     *sql.DB
	Submit SubmitFunc
	// Hostname names this host in generated Message-IDs.
	Hostname string
	// SiteURL is the web UI's base URL ("https://lists.example.org"), for
	// List-Help, List-Archive and the one-click unsubscribe link; without
	// it only mailto: links are given.
	SiteURL string
	Now     func() time.Time
	Logger  *slog.Logger
	MailLog *maillog.Log

	HoldExpiry              time.Duration // how long a post stays held; default 14 days
	ModeratorNoticeInterval time.Duration // at most one moderator notice per list per interval; default 10m
	SenderNoticesPerDay     int           // "awaiting approval" notices per sender, list and day; default 3
	BounceThreshold         int           // bounce points that disable delivery; default 5
	BounceWindow            time.Duration // points older than this are forgotten; default 7 days
	TickInterval            time.Duration // Run's period; default 1m

	// BounceProbes: at the threshold, mail the member a probe and disable
	// delivery only when the probe bounces too (probe.go); false (the zero
	// value) disables at once.
	BounceProbes    bool
	BounceProbeWait time.Duration // a probe without a bounce this long clears the score; default 3 days

	// Archive, when set, receives each accepted post of a list whose
	// archive_policy is public or private (not none), once, as
	// distributed (see archive.go).
	Archive ArchiveFunc

	// LookupTXT looks up the DMARC policies of posters' domains; a
	// net.Resolver's when nil. "No such name" is an error that is a
	// *net.DNSError with IsNotFound; any other error counts as a strict
	// policy (see dmarc.go).
	LookupTXT     LookupTXTFunc
	DMARCTimeout  time.Duration // per post, for all its lookups; default 3s
	DMARCCacheTTL time.Duration // how long a policy is remembered; default 1h (failures 5m)
}

func (o *Options) setDefaults() {
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MailLog == nil {
		o.MailLog = maillog.New(o.Logger)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HoldExpiry, 14*24*time.Hour)
	def(&o.ModeratorNoticeInterval, 10*time.Minute)
	def(&o.BounceWindow, 7*24*time.Hour)
	def(&o.BounceProbeWait, 3*24*time.Hour)
	def(&o.TickInterval, time.Minute)
	def(&o.DMARCTimeout, 3*time.Second)
	def(&o.DMARCCacheTTL, time.Hour)
	if o.LookupTXT == nil {
		r := &net.Resolver{}
		o.LookupTXT = r.LookupTXT
	}
	if o.SenderNoticesPerDay <= 0 {
		o.SenderNoticesPerDay = 3
	}
	if o.BounceThreshold <= 0 {
		o.BounceThreshold = 5
	}
}

// Server handles mail to list addresses; safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger
	mlog *maillog.Log
	// noticeMu serializes moderator notices, so that concurrent holds on
	// one list send one batch.
	noticeMu sync.Mutex
	dmarc    dmarcCache
	// archiveErrors counts failed Archive calls.
	archiveErrors atomic.Int64
	// siteURL is Options.SiteURL, replaced by SetSiteURL on reload.
	siteURL atomic.Pointer[string]
}

// SetSiteURL replaces the site URL used in the links of new mail (List-*
// headers, unsubscribe and confirmation links); "" turns the links off.
func (s *Server) SetSiteURL(u string) { s.siteURL.Store(&u) }

// site returns the current site URL.
func (s *Server) site() string {
	if p := s.siteURL.Load(); p != nil {
		return *p
	}
	return s.opts.SiteURL
}

// New applies the "listserv" migrations to opts.DB and returns a Server.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Lists == nil || opts.Chain == nil || opts.DB == nil || opts.Submit == nil {
		return nil, errors.New("listserv: Lists, Chain, DB and Submit are required")
	}
	opts.setDefaults()
	if err := store.Migrate(ctx, opts.DB, "listserv", migrations()); err != nil {
		return nil, err
	}
	return &Server{opts: opts, log: opts.Logger, mlog: opts.MailLog}, nil
}

// Deliver handles every recipient of m (all of them list addresses) and
// returns one Result per recipient, in order.
func (s *Server) Deliver(ctx context.Context, m *courier.Message) []courier.Result {
	out := make([]courier.Result, len(m.Rcpts))
	var msg *message
	var readErr error
	load := func() (*message, error) {
		if msg == nil && readErr == nil {
			msg, readErr = readMessage(m)
		}
		return msg, readErr
	}
	for i, rcpt := range m.Rcpts {
		out[i] = courier.Result{Rcpt: rcpt, Err: s.deliverOne(ctx, m, rcpt, load)}
	}
	return out
}

func (s *Server) deliverOne(ctx context.Context, m *courier.Message, rcpt string, load func() (*message, error)) error {
	l, role, extra, err := s.opts.Lists.ResolveAddress(ctx, rcpt)
	if err != nil {
		var nf *lists.NotFoundError
		var inv *lists.InvalidError
		if errors.As(err, &nf) || errors.As(err, &inv) {
			return smtperr.New(550, [3]int{5, 1, 1}, "no such list address %s", rcpt)
		}
		return s.tempErr(m, rcpt, "resolve", err)
	}
	msg, err := load()
	if err != nil {
		return s.tempErr(m, rcpt, "read", err)
	}
	switch role {
	case lists.AddrPost:
		err = s.post(ctx, m, l, msg)
	case lists.AddrRequest:
		err = s.request(ctx, l, msg)
	case lists.AddrJoin:
		err = s.join(ctx, l, msg)
	case lists.AddrLeave:
		err = s.leave(ctx, l, msg)
	case lists.AddrConfirm:
		err = s.confirm(ctx, l, msg, extra)
	case lists.AddrOwner:
		err = s.toOwners(ctx, l, msg)
	case lists.AddrBounces:
		err = s.bounce(ctx, l, msg, extra)
	default:
		return smtperr.New(550, [3]int{5, 1, 1}, "no such list address %s", rcpt)
	}
	if err != nil {
		var se *smtperr.Error
		if errors.As(err, &se) {
			return se
		}
		return s.tempErr(m, rcpt, role, err)
	}
	return nil
}

// tempErr logs err and turns it into a 451 so that the queue retries.
func (s *Server) tempErr(m *courier.Message, rcpt, stage string, err error) error {
	s.mlog.Record(maillog.Event{Time: s.opts.Now(), Kind: maillog.Error, QueueID: m.ID, From: m.From,
		Rcpt: rcpt, Stage: "listserv " + stage, Reply: err.Error()})
	return smtperr.New(451, [3]int{4, 3, 0}, "list processing failed, will retry: %v", err)
}

// Run calls Tick every TickInterval until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.Tick(ctx); err != nil {
				s.log.Error("listserv: tick", slog.String("error", err.Error()))
			}
		}
	}
}

func (s *Server) exec(ctx context.Context, q string, args ...any) error {
	if _, err := s.opts.DB.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("listserv: %w", err)
	}
	return nil
}
