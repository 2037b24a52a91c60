package sendmail

import (
	"errors"
	"fmt"

	"github.com/posthorn/posthorn/internal/smtperr"
)

// Exit codes from sysexits.h, which programs that call sendmail(1) expect.
const (
	ExOK          = 0
	ExUsage       = 64 // EX_USAGE: bad command line
	ExDataErr     = 65 // EX_DATAERR: bad input message
	ExNoUser      = 67 // EX_NOUSER: addressee unknown
	ExUnavailable = 69 // EX_UNAVAILABLE: service unavailable
	ExSoftware    = 70 // EX_SOFTWARE: internal software error
	ExCantCreat   = 73 // EX_CANTCREAT: cannot create output (spool) file
	ExIOErr       = 74 // EX_IOERR: input/output error
	ExTempFail    = 75 // EX_TEMPFAIL: temporary failure, the caller may retry
)

// UsageError is a problem with the command line.
type UsageError struct {
	Msg string
}

func (e *UsageError) Error() string { return "sendmail: " + e.Msg }

// TooLargeError says the message exceeds the size limit.
type TooLargeError struct {
	Limit int64 // bytes
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("sendmail: message exceeds the size limit of %d bytes", e.Limit)
}

// HeaderError is a problem with the message's header section: too large, or
// an address field that cannot be parsed.
type HeaderError struct {
	Field  string // the header field concerned, e.g. "To"; empty for the whole section
	Reason string
}

func (e *HeaderError) Error() string {
	if e.Field == "" {
		return "sendmail: message header: " + e.Reason
	}
	return fmt.Sprintf("sendmail: message header %s: %s", e.Field, e.Reason)
}

// NoRecipientsError says that neither the command line nor (with -t) the
// header named any recipient.
type NoRecipientsError struct {
	Extract bool // -t was given
}

func (e *NoRecipientsError) Error() string {
	if e.Extract {
		return "sendmail: no recipient addresses found in the message header or on the command line"
	}
	return "sendmail: no recipients given on the command line (and -t not used)"
}

// ReadError is a failure to read the message from the input.
type ReadError struct {
	Err error
}

func (e *ReadError) Error() string { return "sendmail: reading message: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// ExitCode maps an error to the sysexits code sendmail(1) exits with. SMTP
// replies map by class; any other error counts as temporary (EX_TEMPFAIL),
// so that a caller retries rather than drops the message.
func ExitCode(err error) int {
	if err == nil {
		return ExOK
	}
	var (
		usage   *UsageError
		noRcpt  *NoRecipientsError
		large   *TooLargeError
		header  *HeaderError
		readErr *ReadError
		smtp    *smtperr.Error
	)
	switch {
	case errors.As(err, &usage), errors.As(err, &noRcpt):
		return ExUsage
	case errors.As(err, &large), errors.As(err, &header):
		return ExDataErr
	case errors.As(err, &readErr):
		return ExIOErr
	case errors.As(err, &smtp):
		switch {
		case smtp.Temporary():
			return ExTempFail
		case smtp.Enhanced[1] == 1: // X.1.Y: addressing
			return ExNoUser
		default:
			return ExUnavailable
		}
	}
	return ExTempFail
}
