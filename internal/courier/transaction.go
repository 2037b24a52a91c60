package courier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/smtperr"
)

// rcptOutcome is what one attempt decided for one recipient.
type rcptOutcome struct {
	err      error
	upstream string
	maybe    bool
}

// attemptResult is the outcome of one target for the recipients given.
type attemptResult struct {
	rcpts []rcptOutcome
	stop  bool // do not try further targets (body unreadable, context done)
}

// txResult is the outcome of one SMTP transaction on an open session.
type txResult struct {
	errs        []error // per recipient; nil = accepted
	maybe       []bool  // per recipient: body sent, final reply lost
	hostErr     error   // failure that is not about a recipient: marks the relay down
	reached     bool    // the relay answered MAIL: it is up
	keep        bool    // the session can go back to the pool
	bodyErr     error   // the body could not be read
	deadOnReuse bool    // a pooled session failed before MAIL was answered
	code        int     // the reply that ended the transaction, for the log
}

// attempt runs one transaction for rcpts on target t, on a pooled session
// when there is one, and updates t's health.
func (c *Courier) attempt(ctx context.Context, t target, m *Message, rcpts []string) attemptResult {
	out := attemptResult{rcpts: make([]rcptOutcome, len(rcpts))}
	cn := c.pool.get(t.key())
	var tx txResult
	var usedTLS, reused bool
	for range 2 {
		if cn == nil {
			var err error
			if cn, err = c.dial(ctx, t); err != nil {
				for i := range out.rcpts {
					out.rcpts[i].err = err
					if replyCode(err) != 0 { // the host answered, with a refusal
						out.rcpts[i].upstream = t.label
					}
				}
				out.stop = ctx.Err() != nil
				if !out.stop {
					c.markFailed(ctx, t, err)
				}
				c.logAttempt(ctx, t, m, len(rcpts), 0, replyCode(err), err, false, false, false)
				return out
			}
		}
		watch := context.AfterFunc(ctx, cn.close)
		tx = c.transact(ctx, t, cn, m, rcpts)
		cancelled := !watch()
		// Read before put: once pooled, another delivery may take cn.
		usedTLS, reused = cn.tls, cn.reused
		if tx.deadOnReuse && !cancelled {
			c.log.LogAttrs(ctx, slog.LevelDebug, "pooled connection was dead", attrAddr(t.addr))
			cn.close()
			cn = nil
			continue
		}
		switch {
		case cancelled:
			cn.close()
			out.stop = true
		case tx.keep:
			c.pool.put(cn)
		default:
			cn.close()
		}
		break
	}
	if tx.deadOnReuse {
		// Only reachable when the context ended meanwhile.
		tx.errs = make([]error, len(rcpts))
		for i := range tx.errs {
			tx.errs[i] = &ConnError{Addr: t.addr, Stage: "mail", Err: context.Cause(ctx)}
		}
		tx.maybe = make([]bool, len(rcpts))
	}
	if tx.bodyErr != nil {
		out.stop = true
	}
	accepted := 0
	for i := range out.rcpts {
		e := tx.errs[i]
		o := &out.rcpts[i]
		o.err, o.maybe = e, tx.maybe[i]
		if e == nil || replyCode(e) != 0 || o.maybe {
			o.upstream = t.label
		}
		if e == nil {
			accepted++
		}
	}
	if !out.stop {
		switch {
		case tx.hostErr != nil:
			c.markFailed(ctx, t, tx.hostErr)
		case tx.reached && t.health != nil:
			t.health.succeeded()
		}
	}
	var firstErr error
	for _, e := range tx.errs {
		if e != nil {
			firstErr = e
			break
		}
	}
	c.logAttempt(ctx, t, m, len(rcpts), accepted, tx.code, firstErr, usedTLS, reused, anyTrue(tx.maybe))
	return out
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

func (c *Courier) markFailed(ctx context.Context, t target, err error) {
	if t.health == nil {
		return
	}
	until := t.health.failed(c.opts.Now(), err, c.opts.DownBackoff, c.opts.DownBackoffMax)
	c.log.LogAttrs(ctx, slog.LevelWarn, "upstream marked down",
		slog.String("upstream", t.label), slog.Time("down_until", until), attrErr(err))
}

// transact runs MAIL, RCPT… and DATA for rcpts on cn.
func (c *Courier) transact(ctx context.Context, t target, cn *conn, m *Message, rcpts []string) txResult {
	r := txResult{errs: make([]error, len(rcpts)), maybe: make([]bool, len(rcpts))}
	setAll := func(idx []int, err error) {
		for _, i := range idx {
			r.errs[i] = err
		}
	}
	all := make([]int, len(rcpts))
	for i := range all {
		all[i] = i
	}
	if m.SMTPUTF8 {
		if ok, _ := cn.client.Extension("SMTPUTF8"); !ok {
			setAll(all, smtperr.New(554, [3]int{5, 6, 7}, "%s does not support SMTPUTF8, which the message needs", t.label))
			r.reached, r.keep, r.code = true, true, 554
			return r
		}
	}

	// MAIL
	if err := cn.client.Mail(m.From, &smtp.MailOptions{Size: m.Size, UTF8: m.SMTPUTF8}); err != nil {
		reply := asReply(err)
		if cn.reused && (reply == nil || reply.Code == 421) {
			r.deadOnReuse = true
			return r
		}
		if reply == nil {
			r.hostErr = &ConnError{Addr: t.addr, Stage: "mail", Err: err}
			setAll(all, r.hostErr)
			return r
		}
		setAll(all, reply)
		r.code = reply.Code
		if reply.Temporary() {
			r.hostErr = reply
		} else {
			r.reached = true
		}
		r.keep = reply.Code != 421
		return r
	}
	r.reached = true

	// RCPT
	var accepted []int
	for i, rcpt := range rcpts {
		err := cn.client.Rcpt(rcpt, nil)
		if err == nil {
			accepted = append(accepted, i)
			continue
		}
		reply := asReply(err)
		if reply == nil {
			r.hostErr = &ConnError{Addr: t.addr, Stage: "rcpt", Err: err}
			setAll(accepted, r.hostErr)
			setAll(all[i:], r.hostErr)
			return r
		}
		r.errs[i] = reply
		r.code = reply.Code
		if reply.Code == 421 {
			// The server is closing the session: nothing else goes here.
			r.hostErr = reply
			setAll(accepted, reply)
			setAll(all[i:], reply)
			return r
		}
	}
	if len(accepted) == 0 {
		r.keep = cn.client.Reset() == nil
		return r
	}

	// DATA
	w, err := cn.client.Data()
	if err != nil {
		reply := asReply(err)
		if reply == nil {
			r.hostErr = &ConnError{Addr: t.addr, Stage: "data", Err: err}
			setAll(accepted, r.hostErr)
			return r
		}
		setAll(accepted, reply)
		r.code = reply.Code
		r.keep = reply.Code != 421 && cn.client.Reset() == nil
		return r
	}
	if rerr, werr := c.copyBody(cn, w, m); rerr != nil || werr != nil {
		// Never finish DATA with a partial body: drop the connection.
		if rerr != nil {
			r.bodyErr = &BodyError{ID: m.ID, Err: rerr}
			setAll(accepted, r.bodyErr)
		} else {
			r.hostErr = &ConnError{Addr: t.addr, Stage: "data", Err: werr}
			setAll(accepted, r.hostErr)
		}
		return r
	}
	_ = cn.tc.SetWriteDeadline(time.Now().Add(c.opts.CommandTimeout))
	if _, err := w.CloseWithResponse(); err != nil {
		if reply := asReply(err); reply != nil {
			setAll(accepted, reply)
			r.code = reply.Code
			r.keep = reply.Code != 421
			return r
		}
		r.hostErr = &ConnError{Addr: t.addr, Stage: "data-end", Err: err}
		setAll(accepted, r.hostErr)
		if !cn.tc.writeFailed() {
			for _, i := range accepted {
				r.maybe[i] = true
			}
		}
		return r
	}
	setAll(accepted, nil)
	r.code = 250
	r.keep = true
	return r
}

// copyBody streams [0,Size) of m.Body into w. It tells a failure to read
// the spool (rerr) from a failure to send (werr).
func (c *Courier) copyBody(cn *conn, w io.Writer, m *Message) (rerr, werr error) {
	src := io.NewSectionReader(m.Body, 0, m.Size)
	buf := make([]byte, 32*1024)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			_ = cn.tc.SetWriteDeadline(time.Now().Add(c.opts.CommandTimeout))
			if _, werr := w.Write(buf[:k]); werr != nil {
				return nil, werr
			}
			n += int64(k)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err, nil
		}
	}
	if n != m.Size {
		return fmt.Errorf("body is %d bytes, want %d", n, m.Size), nil
	}
	return nil, nil
}
