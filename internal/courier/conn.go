package courier

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// target is one host to attempt: a relay, or one address of an MX host.
type target struct {
	addr   string  // dialled "host:port"
	name   string  // host name for TLS verification and SNI
	label  string  // Result.Upstream
	tls    string  // TLS mode
	health *health // nil for MX hosts
}

func (t target) key() string { return t.addr + "|" + t.tls + "|" + t.name }

// conn is an SMTP session that has greeted and said EHLO.
type conn struct {
	client    *smtp.Client
	tc        *trackedConn
	key       string
	tls       bool
	reused    bool
	idleSince time.Time
	timer     *time.Timer // closes it when idle too long
}

// quit says QUIT briefly and closes the connection.
func (cn *conn) quit() {
	_ = cn.tc.SetDeadline(time.Now().Add(2 * time.Second))
	cn.client.CommandTimeout = 2 * time.Second
	_ = cn.client.Quit()
	_ = cn.client.Close()
}

func (cn *conn) close() { _ = cn.client.Close() }

// trackedConn remembers whether a write ever failed, to tell a body that
// did not go out from one whose final reply was lost.
type trackedConn struct {
	net.Conn
	mu       sync.Mutex
	writeErr error
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.mu.Lock()
		if c.writeErr == nil {
			c.writeErr = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *trackedConn) writeFailed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeErr != nil
}

// dial opens a new session to t following its TLS mode. In opportunistic
// mode a failed STARTTLS is followed by a plaintext connection.
func (c *Courier) dial(ctx context.Context, t target) (*conn, error) {
	cn, err := c.connect(ctx, t, t.tls != TLSNone)
	var te *TLSError
	if err != nil && opportunistic(t.tls) && errors.As(err, &te) && ctx.Err() == nil {
		if t.tls == tlsSTSTesting {
			c.stsTestingFailure(ctx, t, err)
		}
		c.log.LogAttrs(ctx, slogWarn, "STARTTLS failed, retrying in plaintext",
			attrAddr(t.addr), attrErr(err))
		cn, err = c.connect(ctx, t, false)
	}
	return cn, err
}

// connect dials t, reads the greeting, says EHLO and, when useTLS is set
// and (for opportunistic mode) offered, switches to TLS. All of it must fit
// in ConnectTimeout.
func (c *Courier) connect(ctx context.Context, t target, useTLS bool) (*conn, error) {
	sctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	raw, err := c.opts.Dialer.DialContext(sctx, "tcp", t.addr)
	if err != nil {
		return nil, &ConnError{Addr: t.addr, Stage: "connect", Err: err}
	}
	tc := &trackedConn{Conn: raw}
	stop := context.AfterFunc(sctx, func() { _ = tc.Close() })
	cn, err := c.handshake(sctx, t, tc, useTLS)
	if !stop() {
		// The setup deadline or the caller's context closed the connection.
		_ = tc.Close()
		if err == nil || asReply(err) == nil {
			return nil, &ConnError{Addr: t.addr, Stage: "greeting", Err: context.Cause(sctx)}
		}
	}
	if err != nil {
		_ = tc.Close()
		return nil, err
	}
	cn.client.CommandTimeout = c.opts.CommandTimeout
	cn.key = t.key()
	return cn, nil
}

func (c *Courier) handshake(ctx context.Context, t target, tc *trackedConn, useTLS bool) (*conn, error) {
	cl := c.newClient(tc)
	if err := cl.Hello(c.opts.Hostname); err != nil {
		return nil, helloError(t.addr, err)
	}
	cn := &conn{client: cl, tc: tc}
	if !useTLS {
		return cn, nil
	}
	if ok, _ := cl.Extension("STARTTLS"); !ok {
		if t.tls == TLSRequired {
			return nil, &TLSError{Addr: t.addr, Err: errors.New("STARTTLS not offered")}
		}
		if t.tls == tlsSTSTesting {
			c.stsTestingFailure(ctx, t, errors.New("STARTTLS not offered"))
		}
		return cn, nil
	}
	tlsConn, err := startTLS(ctx, tc, c.tlsConfig(t), c.opts.ConnectTimeout)
	if err != nil {
		return nil, &TLSError{Addr: t.addr, Err: err}
	}
	cl = c.newClient(&greetedConn{Conn: tlsConn, greeting: []byte("220 TLS\r\n")})
	if err := cl.Hello(c.opts.Hostname); err != nil {
		return nil, helloError(t.addr, err)
	}
	return &conn{client: cl, tc: tc, tls: true}, nil
}

func (c *Courier) newClient(nc net.Conn) *smtp.Client {
	cl := smtp.NewClient(nc)
	cl.CommandTimeout = c.opts.ConnectTimeout
	cl.SubmissionTimeout = c.opts.DataTimeout
	return cl
}

func (c *Courier) tlsConfig(t target) *tls.Config {
	cfg := &tls.Config{ServerName: t.name}
	if net.ParseIP(t.name) != nil && t.tls != TLSRequired {
		cfg.ServerName = "" // no SNI for literal addresses
	}
	if t.tls == TLSRequired {
		cfg.RootCAs = c.opts.RootCAs
	} else {
		// Opportunistic TLS protects against passive listeners only; most
		// MX hosts do not have certificates that verify.
		cfg.InsecureSkipVerify = true
		if t.tls == tlsSTSTesting {
			cfg.VerifyConnection = c.stsTestingVerify(t)
		}
	}
	return cfg
}

// helloError classifies a failure at greeting or EHLO.
func helloError(addr string, err error) error {
	if r := asReply(err); r != nil {
		return r
	}
	return &ConnError{Addr: addr, Stage: "hello", Err: err}
}
