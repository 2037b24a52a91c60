package dsn

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits for text that comes from outside: remote replies can be long.
const (
	maxDiagnostic = 4096 // octets of diagnostic text kept, after escaping
	foldWidth     = 78   // preferred line width when folding fields
	maxWord       = 900  // a run without spaces longer than this is split
)

// deliveryStatus returns the body of the message/delivery-status part:
// the per-message fields, then one block per recipient, blocks separated
// by an empty line (RFC 3464 section 2.1).
func deliveryStatus(r Report) []byte {
	var b strings.Builder
	b.WriteString(field("Reporting-MTA", "dns; "+escapeText(r.ReportingMTA, false)))
	if r.EnvelopeID != "" {
		b.WriteString(field("Original-Envelope-Id", escapeText(r.EnvelopeID, false)))
	}
	if r.QueueID != "" {
		b.WriteString(field("X-Posthorn-Queue-ID", escapeText(r.QueueID, false)))
	}
	if !r.ArrivalDate.IsZero() {
		b.WriteString(field("Arrival-Date", formatDate(r.ArrivalDate)))
	}
	for _, rc := range r.Recipients {
		b.WriteString("\r\n")
		if rc.OriginalAddr != "" {
			b.WriteString(field("Original-Recipient", addressType(rc.OriginalAddr)))
		}
		b.WriteString(field("Final-Recipient", addressType(rc.Addr)))
		b.WriteString(field("Action", rc.Action))
		b.WriteString(field("Status", rc.Status))
		if rc.RemoteMTA != "" {
			b.WriteString(field("Remote-MTA", "dns; "+escapeText(rc.RemoteMTA, false)))
		}
		if d := diagnostic(rc.Diagnostic); d != "" {
			b.WriteString(field("Diagnostic-Code", d))
		}
		if !rc.LastAttempt.IsZero() {
			b.WriteString(field("Last-Attempt-Date", formatDate(rc.LastAttempt)))
		}
		if rc.Action == ActionDelayed && !rc.WillRetryUntil.IsZero() {
			b.WriteString(field("Will-Retry-Until", formatDate(rc.WillRetryUntil)))
		}
	}
	return []byte(b.String())
}

// formatDate formats t as an RFC 5322 date-time.
func formatDate(t time.Time) string {
	return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
}

// diagnostic returns the value of Diagnostic-Code for a reply text: type
// "smtp" when it looks like an SMTP reply, "X-Posthorn" for our own
// explanations (connection refused, timeout, ...). Empty for no text.
func diagnostic(text string) string {
	t := strings.Join(strings.Fields(escapeText(text, false)), " ")
	if t == "" {
		return ""
	}
	if len(t) > maxDiagnostic {
		cut := maxDiagnostic
		for cut > 0 && !utf8.RuneStart(t[cut]) {
			cut--
		}
		t = t[:cut] + " [...]"
	}
	if isSMTPReply(t) {
		return "smtp; " + t
	}
	return "X-Posthorn; " + t
}

func isSMTPReply(t string) bool {
	if len(t) < 3 || t[0] < '2' || t[0] > '5' || t[1] < '0' || t[1] > '9' || t[2] < '0' || t[2] > '9' {
		return false
	}
	return len(t) == 3 || t[3] == ' ' || t[3] == '-'
}

// addressType returns "rfc822; addr" for a plain ASCII address and the
// RFC 6533 "utf-8" type in its all-ASCII form otherwise.
func addressType(addr string) string {
	if isAtomText(addr) {
		return "rfc822; " + addr
	}
	return "utf-8; " + escapeText(addr, true)
}

// escapeText makes s printable ASCII. Non-ASCII characters become \x{HHHH}
// (the embedded-unicode form of RFC 6533), invalid UTF-8 becomes \x{FFFD},
// and control characters become spaces. With xtext, '+', '=', '\' and space
// are escaped too, as the utf-8-addr-xtext form requires.
func escapeText(s string, xtext bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x{FFFD}`)
		case xtext && (r == '+' || r == '=' || r == '\\' || r <= ' ' || r == 0x7f || r > 0x7e):
			fmt.Fprintf(&b, `\x{%02X}`, r)
		case r < ' ' || r == 0x7f:
			b.WriteByte(' ')
		case r > 0x7e:
			fmt.Fprintf(&b, `\x{%02X}`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// field formats one "Name: value" field, folded at spaces so that lines stay
// near foldWidth; words longer than maxWord are split. The result ends in CRLF.
func field(name, value string) string {
	return fold(name+":", value)
}

func fold(prefix, value string) string {
	var b strings.Builder
	b.WriteString(prefix)
	lineLen := len(prefix)
	for _, w := range strings.Fields(value) {
		for len(w) > maxWord {
			b.WriteString("\r\n " + w[:maxWord])
			lineLen = 1 + maxWord
			w = w[maxWord:]
		}
		if lineLen+1+len(w) > foldWidth && lineLen > len(prefix) {
			b.WriteString("\r\n")
			lineLen = 0
		}
		b.WriteString(" " + w)
		lineLen += 1 + len(w)
	}
	b.WriteString("\r\n")
	return b.String()
}

// normStatus returns status if it is a well-formed enhanced status code
// whose class agrees with the action, and a generic code for the action
// otherwise.
func normStatus(status, action string) string {
	class := byte('5')
	switch action {
	case ActionDelayed:
		class = '4'
	case ActionDelivered, ActionRelayed, ActionExpanded:
		class = '2'
	}
	if validStatus(status) && status[0] == class {
		return status
	}
	return string(class) + ".0.0"
}

// validStatus checks class "." subject "." detail (RFC 3463): class 2, 4 or
// 5, subject 1-3 digits, detail 1-3 digits.
func validStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.ContainsAny(parts[0], "245") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

func hasCtl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isAtomText reports whether s is non-empty printable ASCII without spaces.
func isAtomText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > 0x7e {
			return false
		}
	}
	return true
}
