package testutil

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/smtperr"
)

// Script says how an Upstream answers. The zero Script accepts everything.
// It is read when each step happens, so SetScript takes effect at once, also
// for sessions already open.
type Script struct {
	HangGreeting  bool                    // accept the connection, never send anything
	Greeting      *smtperr.Error          // send this instead of 220, then close
	Ehlo          *smtperr.Error          // reply to EHLO
	Mail          *smtperr.Error          // reply to MAIL FROM
	Rcpt          func(rcpt string) error // per-recipient reply; nil result = accept
	Data          *smtperr.Error          // reply to the final dot
	DropInData    bool                    // close the connection (RST) while the body arrives
	HangAfterData bool                    // read the whole body, never answer the dot
}

// Received is a message the Upstream accepted.
type Received struct {
	From  string   // reverse-path, "" for the null sender
	Rcpts []string // accepted recipients
	Data  []byte   // the message as received (dot-unstuffed, CRLF)
	Conn  int      // number of the TCP connection that carried it, from 1
	TLS   bool     // whether the session was under STARTTLS
	Helo  string   // the EHLO name the client gave
}

// Option configures NewUpstream.
type Option func(*Upstream)

// WithTLS makes the Upstream offer STARTTLS with cfg.
func WithTLS(cfg *tls.Config) Option { return func(u *Upstream) { u.tlsConfig = cfg } }

// WithSMTPUTF8 makes the Upstream advertise SMTPUTF8.
func WithSMTPUTF8() Option { return func(u *Upstream) { u.smtputf8 = true } }

// Upstream is a fake SMTP server on 127.0.0.1 that records what it accepts
// and fails on cue. Its methods are safe for concurrent use.
type Upstream struct {
	t         testing.TB
	tlsConfig *tls.Config
	smtputf8  bool
	addr      string

	mu      sync.Mutex
	script  Script
	msgs    []Received
	conns   int
	changed chan struct{} // closed and replaced when msgs grows
	run     *run          // nil while stopped
}

// run is one listening period of an Upstream, between Start and Stop.
type run struct {
	ln     net.Listener
	srv    *smtp.Server
	stop   chan struct{}
	served chan struct{}

	mu    sync.Mutex
	conns []net.Conn
}

// NewUpstream starts an Upstream on a free loopback port. t.Cleanup stops it.
func NewUpstream(t testing.TB, opts ...Option) *Upstream {
	t.Helper()
	u := &Upstream{t: t, changed: make(chan struct{})}
	for _, o := range opts {
		o(u)
	}
	u.Start()
	t.Cleanup(u.Stop)
	return u
}

// Addr returns "127.0.0.1:port"; it stays the same across Stop and Start.
func (u *Upstream) Addr() string { return u.addr }

// SetScript replaces the script.
func (u *Upstream) SetScript(s Script) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.script = s
}

func (u *Upstream) currentScript() Script {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.script
}

// Messages returns a copy of the messages accepted so far.
func (u *Upstream) Messages() []Received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Received(nil), u.msgs...)
}

// Connections returns how many TCP connections have been accepted.
func (u *Upstream) Connections() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conns
}

// Wait returns the accepted messages once there are at least n, failing the
// test if that takes longer than timeout.
func (u *Upstream) Wait(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		u.mu.Lock()
		if len(u.msgs) >= n {
			msgs := append([]Received(nil), u.msgs...)
			u.mu.Unlock()
			return msgs
		}
		changed := u.changed
		have := len(u.msgs)
		u.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("testutil: upstream %s: %d messages after %v, want %d", u.addr, have, timeout, n)
			return nil
		}
	}
}

func (u *Upstream) record(m Received) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.msgs = append(u.msgs, m)
	close(u.changed)
	u.changed = make(chan struct{})
}

// Start listens again on the Upstream's address. It is a no-op while running.
func (u *Upstream) Start() {
	u.t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.run != nil {
		return
	}
	addr := u.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		u.t.Fatalf("testutil: upstream listen %s: %v", addr, err)
		return
	}
	u.addr = ln.Addr().String()
	r := &run{stop: make(chan struct{}), served: make(chan struct{})}
	r.ln = &scriptedListener{Listener: ln, u: u, r: r}
	srv := smtp.NewServer(&backend{u: u, r: r})
	srv.Domain = "upstream.test"
	srv.TLSConfig = u.tlsConfig
	srv.EnableSMTPUTF8 = u.smtputf8
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	r.srv = srv
	u.run = r
	go func() {
		defer close(r.served)
		_ = srv.Serve(r.ln)
	}()
}

// Stop closes the listener and every open connection; dials are refused
// until Start. It is a no-op while stopped.
func (u *Upstream) Stop() {
	u.mu.Lock()
	r := u.run
	u.run = nil
	u.mu.Unlock()
	if r == nil {
		return
	}
	close(r.stop)
	_ = r.srv.Close()
	_ = r.ln.Close() // in case Serve had not registered it yet
	// Serve may not have registered the listener yet (Stop right after
	// Start), in which case srv.Close does not close it.
	_ = r.ln.Close()
	<-r.served
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		_ = c.Close()
	}
	r.conns = nil
}

// scriptedListener counts connections and handles the greeting-level
// scripts that go-smtp cannot express (it always greets with 220).
type scriptedListener struct {
	net.Listener
	u *Upstream
	r *run
}

func (l *scriptedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.u.mu.Lock()
		l.u.conns++
		n := l.u.conns
		s := l.u.script
		l.u.mu.Unlock()

		l.r.mu.Lock()
		l.r.conns = append(l.r.conns, c)
		l.r.mu.Unlock()

		switch {
		case s.HangGreeting:
			continue // held open in r.conns until Stop
		case s.Greeting != nil:
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = fmt.Fprintf(c, "%s\r\n", replyLine(s.Greeting))
			_ = c.Close()
			continue
		}
		return &numberedConn{Conn: c, n: n}, nil
	}
}

// numberedConn carries the connection's number to the session.
type numberedConn struct {
	net.Conn
	n int
}

func replyLine(e *smtperr.Error) string {
	if e.Enhanced == [3]int{} {
		return fmt.Sprintf("%d %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Message)
}

// toSMTP turns a scripted reply into the error type go-smtp writes out.
func toSMTP(err error) error {
	if err == nil {
		return nil
	}
	var e *smtperr.Error
	if errors.As(err, &e) {
		return &smtp.SMTPError{Code: e.Code, EnhancedCode: smtp.EnhancedCode(e.Enhanced), Message: e.Message}
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 0, 0}, Message: err.Error()}
}

type backend struct {
	u *Upstream
	r *run
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	if s := b.u.currentScript(); s.Ehlo != nil {
		return nil, toSMTP(s.Ehlo)
	}
	nc := c.Conn()
	_, isTLS := nc.(*tls.Conn)
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	n := 0
	if num, ok := nc.(*numberedConn); ok {
		n = num.n
	}
	return &session{u: b.u, r: b.r, c: c, conn: n, tls: isTLS}, nil
}

type session struct {
	u    *Upstream
	r    *run
	c    *smtp.Conn
	conn int
	tls  bool

	from  string
	rcpts []string
}

func (s *session) Reset() {
	s.from = ""
	s.rcpts = nil
}

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if sc := s.u.currentScript(); sc.Mail != nil {
		return toSMTP(sc.Mail)
	}
	s.from = from
	s.rcpts = nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if sc := s.u.currentScript(); sc.Rcpt != nil {
		if err := sc.Rcpt(to); err != nil {
			return toSMTP(err)
		}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	sc := s.u.currentScript()
	if sc.DropInData {
		var buf [1]byte
		_, _ = io.ReadFull(r, buf[:])
		nc := s.c.Conn()
		if tc, ok := nc.(*tls.Conn); ok {
			nc = tc.NetConn()
		}
		if num, ok := nc.(*numberedConn); ok {
			nc = num.Conn
		}
		if tcp, ok := nc.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
		_ = nc.Close()
		return errors.New("testutil: dropped in DATA")
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if sc.HangAfterData {
		<-s.r.stop
		return errors.New("testutil: stopped")
	}
	if sc.Data != nil {
		return toSMTP(sc.Data)
	}
	s.u.record(Received{
		From:  s.from,
		Rcpts: append([]string(nil), s.rcpts...),
		Data:  data,
		Conn:  s.conn,
		TLS:   s.tls,
		Helo:  s.c.Hostname(),
	})
	return nil
}
