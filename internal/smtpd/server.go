// Package smtpd is the SMTP submission listener: go-smtp sessions that check
// who may relay, enforce limits, add trace fields and put each message into
// the spool before answering 250.
//
// A connection is first admitted (limitListener: total and per-address
// bounds, else 421), then, on an implicit TLS listener, the TLS handshake
// runs. A session goes EHLO → [STARTTLS → EHLO] → [AUTH] → MAIL → RCPT… →
// DATA → (250 | 4xx | 5xx) and may repeat the transaction. The connection
// ends at max_session_time at the latest, counted from its acceptance.
//
// The session's service is the first [[service]] whose networks hold the
// client address, until a successful AUTH sets it to the service that
// logged in. Relaying is allowed for clients in the trusted networks and
// for sessions that logged in; everyone else may only send to existing
// local (list) addresses and is refused at RCPT with 554 5.7.1. A service
// over its message rate gets 450 4.7.1 at MAIL.
//
// Failed logins are counted per client address and per login name (from
// any address, unknown names alike); over either limit AUTH gets 454 4.7.0
// and the connection is closed until the window passes. An unknown name is
// verified against a decoy hash of the configured parameters, so it costs
// as much as a wrong password.
//
// A message is acknowledged only once spool.Commit returned (data and
// directory entry on stable storage); any failure of ours is answered with
// a 4xx so that the client keeps the message and tries again. The data is
// streamed to the spool: only the header section (bounded) is held in
// memory, and a message over the size limit is cut off, discarded and
// answered 552.
package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/spool"
)

// Spooler stores messages durably; *queue.Queue is one.
type Spooler interface {
	Create(env *spool.Envelope) (*spool.Writer, error)
	Commit(w *spool.Writer) (*spool.Message, error)
}

// Options configures a Server.
type Options struct {
	Hostname        string
	TrustedNetworks []netip.Prefix
	// Services attribute sessions to a service by client network (first
	// match wins) or by SMTP AUTH login; a client no service claims is
	// "unknown".
	Services []Service
	// Local answers for addresses on local (list) domains; nil = none.
	Local          func(addr string) LocalAnswer
	MaxMessageSize int64
	MaxRecipients  int
	MaxLineLength  int
	MaxReceived    int // more Received: fields than this is a loop
	MaxConnections int
	// MaxConnectionsPerIP bounds the sessions of one client address; 0 =
	// no bound.
	MaxConnectionsPerIP int
	MaxHeaderSize       int // default 1 MiB
	ReadTimeout         time.Duration
	WriteTimeout        time.Duration
	MaxSessionTime      time.Duration // whole connection, from its acceptance
	DataTimeout         time.Duration // one DATA transfer; 0 = ReadTimeout
	// TLSConfig enables STARTTLS and the implicit TLS listeners (see
	// TLSConfig); nil = no TLS.
	TLSConfig *tls.Config
	// AllowAuthWithoutTLS offers AUTH on plain connections from any
	// address; by default only over TLS or from loopback.
	AllowAuthWithoutTLS bool
	// AuthFailureLimit failed logins of one client address within
	// AuthFailureWindow block its further attempts (defaults 5, 15m).
	AuthFailureLimit  int
	AuthFailureWindow time.Duration
	// AuthFailureLimitPerUser failed logins of one login name, from any
	// address, within AuthFailureWindow lock that name: every attempt for
	// it is refused until the window passes. 0 = no per-name limit.
	AuthFailureLimitPerUser int
	// State is shared by the Servers of successive configurations; nil =
	// a new one.
	State   *State
	Spool   Spooler
	MailLog *maillog.Log
	Logger  *slog.Logger
	Now     func() time.Time
}

// Server accepts mail on any number of listeners.
type Server struct {
	opts Options
	srv  *smtp.Server
	auth bool // some service can log in
	// decoy is verified for an unknown login name (see decoyHash); nil
	// when no service can log in.
	decoy      *PasswordHash
	verifyHash func(h *PasswordHash, password string) bool
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxHeaderSize <= 0 {
		opts.MaxHeaderSize = 1 << 20
	}
	if opts.MaxReceived <= 0 {
		opts.MaxReceived = 50
	}
	if opts.AuthFailureLimit <= 0 {
		opts.AuthFailureLimit = 5
	}
	if opts.AuthFailureWindow <= 0 {
		opts.AuthFailureWindow = 15 * time.Minute
	}
	if opts.State == nil {
		opts.State = NewState()
	}
	if opts.MailLog == nil {
		opts.MailLog = maillog.New(nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, verifyHash: (*PasswordHash).Verify}
	for _, svc := range opts.Services {
		if svc.Password != nil && !s.auth {
			s.auth, s.decoy = true, decoyHash(svc.Password)
		}
	}
	srv := smtp.NewServer(s)
	srv.Domain = opts.Hostname
	srv.MaxMessageBytes = opts.MaxMessageSize
	srv.MaxRecipients = opts.MaxRecipients
	if opts.MaxLineLength > 0 {
		srv.MaxLineLength = opts.MaxLineLength
	}
	srv.ReadTimeout = opts.ReadTimeout
	srv.WriteTimeout = opts.WriteTimeout
	srv.EnableSMTPUTF8 = true
	srv.TLSConfig = opts.TLSConfig
	// The session decides where AUTH is allowed (authAllowed); go-smtp's
	// own check would refuse loopback without TLS.
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(slogWriter{opts.Logger}, "", 0)
	s.srv = srv
	return s
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(&limitListener{Listener: ln, s: s})
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeTLS is Serve for an implicit TLS listener (port 465 style): the TLS
// handshake starts at connect. It needs Options.TLSConfig.
func (s *Server) ServeTLS(ln net.Listener) error {
	return s.Serve(implicitListener{ln})
}

// Shutdown stops accepting and waits for open sessions to end, until ctx is
// done; then it closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	return err
}

// NewSession implements smtp.Backend. go-smtp calls it at the first EHLO
// or HELO, and again after STARTTLS.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	ip := remoteIP(c.Conn().RemoteAddr())
	_, tls := c.TLSConnectionState()
	sess := &session{s: s, conn: c, sc: sessionConnOf(c.Conn()), ip: ip, ipStr: ip.String(), helo: c.Hostname(), tls: tls}
	pol := s.policy()
	sess.trusted = pol.Trusted(ip)
	sess.service = pol.ServiceOf(ip)
	if sess.sc == nil || sess.sc.firstSession() { // not again after STARTTLS
		s.opts.MailLog.Record(maillog.Event{Kind: maillog.Session, Client: sess.ipStr, Service: sess.service})
	}
	return sess, nil
}

// slogWriter sends go-smtp's own error log to slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("smtp server", slog.String("error", string(p)))
	return len(p), nil
}
