package syslogfwd

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// conn is one connection to the collector.
type conn struct {
	c     net.Conn // what is written to: the TLS connection, or raw
	raw   net.Conn
	dead  chan struct{} // closed when reading fails: the collector closed, or we did
	since time.Time
	// stopAfter cancels the context.AfterFunc that shortens a blocked
	// write when Run's context ends.
	stopAfter func() bool
}

// watch reads (and discards) until the connection fails. A collector sends
// nothing, so this only notices that it went away.
func (c *conn) watch() {
	defer close(c.dead)
	buf := make([]byte, 512)
	for {
		if _, err := c.c.Read(buf); err != nil {
			return
		}
	}
}

// Run connects to the collector and writes queued records until ctx ends or
// Close is called; then it flushes for at most about FlushTimeout (plus
// FlushTimeout for a write already under way), closes the connection and
// returns nil. Connection problems are logged (rate limited) and retried
// with backoff; they are never returned. Run may be called only once.
func (f *Forwarder) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("syslogfwd: Run called twice")
	}
	defer close(f.doneC)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-f.stopC:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer wg.Wait()
	defer cancel()

	var (
		c        *conn
		pending  []byte // frames taken from the queue, not yet written
		pendingN int    // how many
		backoff  = f.o.ReconnectMin
		first    = true
	)
	hangUp := func(msg string, err error) {
		f.logError(msg, err)
		if time.Since(c.since) >= f.o.ReconnectMax {
			backoff = f.o.ReconnectMin // it was a long-lived connection
		}
		c = f.hangUp(c)
	}
	for ctx.Err() == nil {
		if c == nil {
			if !first {
				if !sleep(ctx, jitter(backoff)) {
					break
				}
				backoff = min(2*backoff, f.o.ReconnectMax)
			}
			first = false
			var err error
			if c, err = f.dial(ctx); err != nil {
				if ctx.Err() == nil {
					f.logError("syslog: cannot connect to the collector", err)
				}
				continue
			}
			nc := c.c
			c.stopAfter = context.AfterFunc(ctx, func() {
				nc.SetWriteDeadline(time.Now().Add(f.o.FlushTimeout))
			})
			f.connected.Store(true)
			f.o.Logger.Info("syslog: connected to the collector", slog.String("address", f.o.Address))
		}
		if pendingN == 0 {
			pending, pendingN = f.q.take(pending[:0], f.o.BatchBytes)
		}
		if pendingN == 0 {
			select {
			case <-f.q.wake():
			case <-c.dead:
				hangUp("syslog: the collector closed the connection", io.EOF)
			case <-ctx.Done():
			}
			continue
		}
		select {
		case <-c.dead:
			hangUp("syslog: the collector closed the connection", io.EOF)
			continue
		default:
		}
		c.c.SetWriteDeadline(time.Now().Add(f.o.Timeout))
		if ctx.Err() != nil {
			c.c.SetWriteDeadline(time.Now().Add(f.o.FlushTimeout))
		}
		if _, err := c.c.Write(pending); err != nil {
			// Keep pending: it is written first on the next connection.
			hangUp("syslog: cannot write to the collector", err)
			continue
		}
		pending, pendingN = pending[:0], 0
		backoff = f.o.ReconnectMin
	}
	f.flush(c, pending, pendingN)
	return nil
}

// dial opens a connection (with its TLS handshake) within Timeout.
func (f *Forwarder) dial(ctx context.Context) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, f.o.Timeout)
	defer cancel()
	raw, err := f.o.Dial(dctx, "tcp", f.o.Address)
	if err != nil {
		return nil, err
	}
	nc := raw
	if f.o.TLS != nil {
		cfg := f.o.TLS.Clone()
		if cfg.ServerName == "" {
			if host, _, err := net.SplitHostPort(f.o.Address); err == nil {
				cfg.ServerName = host
			}
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, err
		}
		nc = tc
	}
	c := &conn{c: nc, raw: raw, dead: make(chan struct{}), since: time.Now(), stopAfter: func() bool { return false }}
	go c.watch()
	return c, nil
}

// hangUp closes c at once (no TLS close_notify) and returns nil.
func (f *Forwarder) hangUp(c *conn) *conn {
	c.stopAfter()
	c.raw.Close()
	<-c.dead
	f.connected.Store(false)
	return nil
}

// flush writes what is pending and queued, within FlushTimeout, dialling
// once if there is no connection; what cannot be written counts as
// dropped. Records logged from now on are dropped too.
func (f *Forwarder) flush(c *conn, pending []byte, n int) {
	f.stopped.Store(true)
	deadline := time.Now().Add(f.o.FlushTimeout)
	if n == 0 {
		pending, n = f.q.take(pending[:0], f.o.BatchBytes)
	}
	if c != nil {
		c.stopAfter()
		select {
		case <-c.dead:
			c = f.hangUp(c)
		default:
		}
	}
	if n > 0 && c == nil {
		dctx, cancel := context.WithDeadline(context.Background(), deadline)
		var err error
		if c, err = f.dial(dctx); err != nil {
			f.logError("syslog: cannot connect to the collector to flush", err)
		}
		cancel()
	}
	clean := true
	for n > 0 && c != nil {
		c.c.SetWriteDeadline(deadline)
		if _, err := c.c.Write(pending); err != nil {
			f.logError("syslog: cannot flush to the collector", err)
			clean = false
			break
		}
		pending, n = f.q.take(pending[:0], f.o.BatchBytes)
	}
	if c != nil {
		if clean {
			c.c.SetWriteDeadline(deadline)
			c.c.Close()
			<-c.dead
		} else {
			f.hangUp(c)
		}
	}
	for n > 0 {
		f.dropped.Add(uint64(n))
		pending, n = f.q.take(pending[:0], f.o.BatchBytes)
	}
	f.connected.Store(false)
}

// jitter returns a duration between d/2 and d, so that many forwarders do
// not reconnect in step after a collector restart.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
