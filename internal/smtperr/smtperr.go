// Package smtperr defines the typed SMTP error shared by the server, the
// spool and the courier.
//
// An Error carries the reply code, the enhanced status code (RFC 3463) and
// the text. Whether it is temporary follows from the code: 4xx is temporary,
// 5xx permanent. Errors that are not *Error (disk, network, bugs) are treated
// as temporary by Temporary, so that our own faults never turn into a 5xx.
package smtperr

import (
	"errors"
	"fmt"
)

// Error is an SMTP reply that ends a command or a transaction.
type Error struct {
	Code     int    // 421, 450, 550, ...
	Enhanced [3]int // {4, 7, 1}; zero when unknown
	Message  string // human-readable text, one line
}

// New returns an *Error.
func New(code int, enhanced [3]int, format string, args ...any) *Error {
	return &Error{Code: code, Enhanced: enhanced, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Enhanced == [3]int{} {
		return fmt.Sprintf("%d %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%d %d.%d.%d %s", e.Code, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Message)
}

// Temporary reports whether the reply is a transient failure (4xx).
func (e *Error) Temporary() bool { return e.Code < 500 }

// Status returns the enhanced status code as "4.7.1", deriving a generic one
// from the reply code when the server gave none.
func (e *Error) Status() string {
	if e.Enhanced != [3]int{} {
		return fmt.Sprintf("%d.%d.%d", e.Enhanced[0], e.Enhanced[1], e.Enhanced[2])
	}
	if e.Code >= 500 {
		return "5.0.0"
	}
	return "4.0.0"
}

// Temporary reports whether err is a transient failure. A nil error is not;
// an error that is not (and does not wrap) an *Error is, because it comes from
// our side or the network and might succeed later.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary()
	}
	return true
}

// Permanent reports whether err is an SMTP 5xx reply.
func Permanent(err error) bool { return err != nil && !Temporary(err) }
