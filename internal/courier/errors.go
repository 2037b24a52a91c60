package courier

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/smtperr"
)

// ConnError is a network-level failure talking to a host: refused, timed
// out, or dropped. It is temporary.
type ConnError struct {
	Addr  string // dialled "host:port"
	Stage string // "connect", "hello", "mail", "rcpt", "data", "data-end", ...
	Err   error
}

func (e *ConnError) Error() string {
	if e.Addr == "" {
		return fmt.Sprintf("courier: %s: %v", e.Stage, e.Err)
	}
	return fmt.Sprintf("courier: %s: %s: %v", e.Addr, e.Stage, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// Timeout reports whether the failure was a timeout.
func (e *ConnError) Timeout() bool {
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout())
}

// TLSError is a STARTTLS failure: not offered where required, refused, or a
// failed handshake or certificate verification. It is temporary.
type TLSError struct {
	Addr string
	Err  error
}

func (e *TLSError) Error() string { return fmt.Sprintf("courier: %s: TLS: %v", e.Addr, e.Err) }

func (e *TLSError) Unwrap() error { return e.Err }

// BodyError is a failure to read the message body from the spool. It is
// temporary, and stops the attempt: no other target is tried.
type BodyError struct {
	ID  string
	Err error
}

func (e *BodyError) Error() string {
	return fmt.Sprintf("courier: reading body of %s: %v", e.ID, e.Err)
}

func (e *BodyError) Unwrap() error { return e.Err }

// asReply converts a go-smtp reply error into *smtperr.Error, or returns nil
// when err is not a server reply.
func asReply(err error) *smtperr.Error {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return nil
	}
	e := &smtperr.Error{Code: se.Code, Message: se.Message}
	if c := se.EnhancedCode; c[0] > 0 && c[1] >= 0 && c[2] >= 0 {
		e.Enhanced = [3]int(c)
	}
	return e
}

// replyCode returns the SMTP code in err, 0 when there is none.
func replyCode(err error) int {
	var e *smtperr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// errAllDown defers a message while every relay is in its down period.
var errAllDown = errors.New("all upstream relays are down; waiting for the next probe")
