package dsn

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// humanText returns the explanation for people, with LF line endings.
// Remote text is kept in UTF-8 (invalid bytes replaced) and wrapped.
func humanText(r Report, now time.Time, k kind, truncated bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "This is the mail delivery system at %s.\n\n", r.ReportingMTA)
	failed, delayed := 0, 0
	for _, rc := range r.Recipients {
		switch rc.Action {
		case ActionFailed:
			failed++
		case ActionDelayed:
			delayed++
		}
	}
	if failed > 0 {
		b.WriteString("Your message could not be delivered to the recipients marked\n" +
			"\"failed\" below. The failure is permanent; the message will not be\n" +
			"retried for them.\n\n")
	}
	if delayed > 0 {
		b.WriteString("Your message has not yet been delivered to the recipients marked\n" +
			"\"delayed\" below. This is only a warning: delivery is still being\n" +
			"retried, and you do not need to send the message again.\n")
		if until := latestRetry(r.Recipients); !until.IsZero() {
			fmt.Fprintf(&b, "Delivery will be attempted until %s.\n", formatDate(until))
		}
		b.WriteString("\n")
	}
	if r.QueueID != "" {
		fmt.Fprintf(&b, "Queue ID:     %s\n", printable(r.QueueID))
	}
	if !r.ArrivalDate.IsZero() {
		fmt.Fprintf(&b, "Arrived:      %s\n", formatDate(r.ArrivalDate))
	}
	fmt.Fprintf(&b, "Report date:  %s\n\n", formatDate(now))
	for _, rc := range r.Recipients {
		fmt.Fprintf(&b, "<%s>: %s (%s)\n", printable(rc.Addr), rc.Action, rc.Status)
		if rc.Action == ActionDelayed && !rc.WillRetryUntil.IsZero() {
			fmt.Fprintf(&b, "    retried until %s\n", formatDate(rc.WillRetryUntil))
		}
		if d := strings.Join(strings.Fields(printable(rc.Diagnostic)), " "); d != "" {
			who := "the remote server"
			if rc.RemoteMTA != "" {
				who = printable(rc.RemoteMTA)
			}
			b.WriteString(wrap(who+" said: "+d, "    ", 76))
		}
		b.WriteString("\n")
	}
	b.WriteString("The machine-readable report and the header section of your\n" +
		"message follow.\n")
	if truncated {
		fmt.Fprintf(&b, "The header section was longer than %d bytes; only its\n"+
			"beginning is included.\n", MaxHeaderBytes)
	}
	return b.String()
}

func latestRetry(rcpts []Recipient) time.Time {
	var t time.Time
	for _, rc := range rcpts {
		if rc.Action == ActionDelayed && rc.WillRetryUntil.After(t) {
			t = rc.WillRetryUntil
		}
	}
	return t
}

// printable returns s as valid UTF-8 with control characters as spaces,
// capped at maxDiagnostic bytes.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxDiagnostic {
		cut := maxDiagnostic
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + " [...]"
	}
	return s
}

// wrap breaks text at spaces into lines of about width bytes, each starting
// with indent and ending in LF. Longer words stay whole; the part is
// quoted-printable if that makes a line too long.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
	return b.String()
}
