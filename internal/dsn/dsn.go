// Package dsn builds delivery status notifications (RFC 3464): the bounce
// sent to a message's envelope sender when delivery to some recipients failed
// for good, and the warning sent while delivery is still being retried.
//
// Flow: the queue gathers a Report (who we are, the queue id, the envelope
// sender, the arrival date, one Recipient per recipient to report, and the
// original message) and calls Bounce or DelayNotice with the current time.
// The result is a complete RFC 5322 message with CRLF line endings, ready to
// be spooled with the null reverse-path, addressed to Report.Sender:
//
//	multipart/report; report-type=delivery-status
//	├── text/plain                 what happened, for people
//	├── message/delivery-status    the same, for programs (RFC 3464)
//	└── text/rfc822-headers        the original header section (RFC 6522)
//
// The notice itself is always 7-bit: non-ASCII text in the human-readable part
// and in the returned headers is sent quoted-printable, non-ASCII addresses use
// the RFC 6533 "utf-8" address type in its \x{HHHH} form, and other fields are
// escaped the same way. No line is longer than 998 octets. Building is pure:
// no clock, no randomness (the MIME boundary is derived from the content and
// checked against it), so the same Report and time give the same bytes.
package dsn

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Actions (RFC 3464 section 2.3.3) that a notice may report.
const (
	ActionFailed    = "failed"
	ActionDelayed   = "delayed"
	ActionDelivered = "delivered"
	ActionRelayed   = "relayed"
	ActionExpanded  = "expanded"
)

// MaxHeaderBytes caps the returned original header section. What lies beyond
// is left out and the human-readable part says so.
const MaxHeaderBytes = 64 << 10

// Recipient is one recipient the notice reports on.
type Recipient struct {
	Addr           string    // final recipient, as given in RCPT TO (without <>)
	OriginalAddr   string    // ORCPT address (RFC 3461), xtext-decoded, without its type; optional
	Action         string    // ActionFailed, ActionDelayed, ...; empty means the notice's default
	Status         string    // enhanced status code "5.1.1"; empty or malformed derives from Action
	Diagnostic     string    // remote reply, e.g. "550 5.1.1 no such user"; may be empty
	RemoteMTA      string    // host name of the server that answered; optional
	LastAttempt    time.Time // optional
	WillRetryUntil time.Time // for delayed recipients; optional
}

// Report describes one message and the recipients to report on.
type Report struct {
	ReportingMTA string // our host name
	QueueID      string // optional
	EnvelopeID   string // ENVID given with MAIL FROM (RFC 3461), decoded; optional
	Sender       string // original envelope sender; the notice goes to this address
	ArrivalDate  time.Time
	Recipients   []Recipient
	Original     io.Reader // the original message; only its header section is returned; may be nil
	MessageID    string    // Message-ID for the notice, e.g. "<...@host>"; empty derives one
}

// InvalidReportError says why a Report cannot be turned into a notice.
type InvalidReportError struct {
	Field  string
	Reason string
}

func (e *InvalidReportError) Error() string {
	return fmt.Sprintf("dsn: invalid report: %s: %s", e.Field, e.Reason)
}

// IsNullSender reports whether an envelope sender is the null reverse-path,
// to which no notice may ever be sent (RFC 5321 section 4.5.5).
func IsNullSender(from string) bool {
	s := strings.TrimSpace(from)
	return s == "" || s == "<>"
}

// Bounce returns a non-delivery report: recipients without an Action are
// reported as failed.
func Bounce(r Report, now time.Time) ([]byte, error) {
	return build(r, now, kindBounce)
}

// DelayNotice returns a warning that delivery is delayed and still being
// retried: recipients without an Action are reported as delayed.
func DelayNotice(r Report, now time.Time) ([]byte, error) {
	return build(r, now, kindDelay)
}

type kind int

const (
	kindBounce kind = iota
	kindDelay
)

func (k kind) defaultAction() string {
	if k == kindDelay {
		return ActionDelayed
	}
	return ActionFailed
}

func (k kind) subject() string {
	if k == kindDelay {
		return "Delayed Mail (still being retried)"
	}
	return "Undelivered Mail Returned to Sender"
}

func (k kind) idTag() string {
	if k == kindDelay {
		return "delay"
	}
	return "bounce"
}

// maxAddrLen bounds addresses so that every line holding one stays short.
const maxAddrLen = 512

func validate(r Report) error {
	if IsNullSender(r.Sender) {
		return &InvalidReportError{Field: "Sender", Reason: "null sender gets no notice"}
	}
	if len(r.Sender) > maxAddrLen {
		return &InvalidReportError{Field: "Sender", Reason: "too long"}
	}
	if hasCtl(r.Sender) {
		return &InvalidReportError{Field: "Sender", Reason: "contains control characters"}
	}
	if r.ReportingMTA == "" || len(r.ReportingMTA) > 255 || !isAtomText(r.ReportingMTA) {
		return &InvalidReportError{Field: "ReportingMTA", Reason: fmt.Sprintf("not a host name: %q", r.ReportingMTA)}
	}
	if len(r.Recipients) == 0 {
		return &InvalidReportError{Field: "Recipients", Reason: "none"}
	}
	for i, rc := range r.Recipients {
		if rc.Addr == "" || len(rc.Addr) > maxAddrLen {
			return &InvalidReportError{Field: fmt.Sprintf("Recipients[%d].Addr", i), Reason: "empty or too long"}
		}
		if len(rc.OriginalAddr) > maxAddrLen {
			return &InvalidReportError{Field: fmt.Sprintf("Recipients[%d].OriginalAddr", i), Reason: "too long"}
		}
		switch rc.Action {
		case "", ActionFailed, ActionDelayed, ActionDelivered, ActionRelayed, ActionExpanded:
		default:
			return &InvalidReportError{Field: fmt.Sprintf("Recipients[%d].Action", i), Reason: fmt.Sprintf("unknown action %q", rc.Action)}
		}
	}
	if r.MessageID != "" && (len(r.MessageID) > maxAddrLen || hasCtl(r.MessageID) || !isASCII(r.MessageID)) {
		return &InvalidReportError{Field: "MessageID", Reason: "not a printable ASCII message id"}
	}
	return nil
}

func build(r Report, now time.Time, k kind) ([]byte, error) {
	if err := validate(r); err != nil {
		return nil, err
	}
	rcpts := make([]Recipient, len(r.Recipients))
	for i, rc := range r.Recipients {
		if rc.Action == "" {
			rc.Action = k.defaultAction()
		}
		rc.Status = normStatus(rc.Status, rc.Action)
		rcpts[i] = rc
	}
	r.Recipients = rcpts

	orig, truncated, err := readHeaderSection(r.Original, MaxHeaderBytes)
	if err != nil {
		return nil, fmt.Errorf("dsn: reading original message: %w", err)
	}
	parts := []part{
		textPart(humanText(r, now, k, truncated)),
		{header: "Content-Type: message/delivery-status\r\n" +
			"Content-Description: Delivery report\r\n", body: deliveryStatus(r)},
		rfc822HeadersPart(orig),
	}
	return assemble(r, now, k, parts)
}
