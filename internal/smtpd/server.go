// Package smtpd is the SMTP submission listener: go-smtp sessions that check
// who may relay, enforce limits, add trace fields and put each message into
// the spool before answering 250.
//
// A session goes EHLO → MAIL → RCPT… → DATA → (250 | 4xx | 5xx) and may
// repeat the transaction. Relaying is allowed only for clients in the trusted
// networks; everyone else is refused at RCPT with 554 5.7.1. A message is
// acknowledged only once spool.Commit returned (data and directory entry on
// stable storage); any failure of ours is answered with a 4xx so that the
// client keeps the message and tries again.
package smtpd

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"sync"
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
	// match wins); a client no service claims is "unknown".
	Services []Service
	// Local answers for addresses on local (list) domains; nil = none.
	Local          func(addr string) LocalAnswer
	MaxMessageSize int64
	MaxRecipients  int
	MaxLineLength  int
	MaxReceived    int // more Received: fields than this is a loop
	MaxConnections int
	MaxHeaderSize  int // default 1 MiB
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration
	MaxSessionTime time.Duration
	Spool          Spooler
	MailLog        *maillog.Log
	Logger         *slog.Logger
	Now            func() time.Time
}

// Server accepts mail on any number of listeners.
type Server struct {
	opts Options
	srv  *smtp.Server

	mu     sync.Mutex
	active int // connections open, for MaxConnections
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
	if opts.MailLog == nil {
		opts.MailLog = maillog.New(nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts}
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

// Shutdown stops accepting and waits for open sessions to end, until ctx is
// done; then it closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	return err
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	ip := remoteIP(c.Conn().RemoteAddr())
	sess := &session{s: s, conn: c, ip: ip, helo: c.Hostname()}
	pol := s.policy()
	sess.trusted = pol.Trusted(ip)
	sess.service = pol.ServiceOf(ip)
	s.opts.MailLog.Record(maillog.Event{Kind: maillog.Session, Client: ip.String(), Service: sess.service})
	if s.opts.MaxSessionTime > 0 {
		sess.timer = time.AfterFunc(s.opts.MaxSessionTime, func() {
			s.opts.MailLog.Record(maillog.Event{Kind: maillog.Rejected, Client: ip.String(),
				Service: sess.service, Stage: "session", Reply: "maximum session time reached"})
			_ = c.Close()
		})
	}
	return sess, nil
}

func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// limitListener refuses connections beyond MaxConnections with a 421.
type limitListener struct {
	net.Listener
	s *Server
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		max := l.s.opts.MaxConnections
		l.s.mu.Lock()
		over := max > 0 && l.s.active >= max
		if !over {
			l.s.active++
		}
		l.s.mu.Unlock()
		if over {
			go refuse(c, l.s.opts.Hostname)
			ip := remoteIP(c.RemoteAddr())
			l.s.opts.MailLog.Record(maillog.Event{Kind: maillog.Rejected, Client: ip.String(),
				Service: l.s.policy().ServiceOf(ip), Stage: "connect", Reply: "too many connections"})
			continue
		}
		return &countedConn{Conn: c, s: l.s}, nil
	}
}

func refuse(c net.Conn, host string) {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "421 4.7.0 "+host+" Too many connections, try again later\r\n")
	_ = c.Close()
}

type countedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.s.active--
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// slogWriter sends go-smtp's own error log to slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("smtp server", slog.String("error", string(p)))
	return len(p), nil
}
