package mbox

import (
	"strings"
	"time"
)

// asctime is the date layout a Writer puts on separator lines.
const asctime = "Mon Jan _2 15:04:05 2006"

// dateLayouts returns the layouts tried, in order, on the tail of a
// separator line. The tail's fields are joined with single spaces first, so
// layouts use "2" for the day and a single space everywhere.
func dateLayouts() [13]string {
	return [...]string{
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon Jan 2 15:04:05 -0700 2006",
		"Mon Jan 2 15:04:05 2006 -0700",
		"Mon Jan 2 15:04:05 2006 MST",
		"Mon Jan 2 15:04 2006",
		"Mon Jan 2 15:04 MST 2006",
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
		"2 Jan 2006 15:04:05 -0700",
		"Mon 2 Jan 2006 15:04:05 -0700",
		"2006-01-02T15:04:05Z07:00",
	}
}

// parseFromLine splits the text after "From " (line ending removed) into
// the envelope sender and the date. The date is found by trying every
// suffix of the line's fields against dateLayouts, longest first; what
// precedes it is the sender, which may contain spaces and quotes. Without
// a date the sender is the first field (a quoted string counts as one).
func parseFromLine(rest string) (string, time.Time) {
	fields := strings.Fields(rest)
	// Drop a trailing "remote from host" (UUCP).
	if n := len(fields); n >= 3 && fields[n-3] == "remote" && fields[n-2] == "from" {
		fields = fields[:n-3]
	}
	// A date has 1 to 7 fields; try to start it at each field after the
	// first (the sender needs at least one field), longest date first.
	layouts := dateLayouts()
	for i := max(1, len(fields)-7); i < len(fields); i++ {
		tail := strings.Join(fields[i:], " ")
		for _, layout := range layouts {
			if t, err := time.Parse(layout, tail); err == nil {
				return strings.Join(fields[:i], " "), t
			}
		}
	}
	return firstToken(strings.TrimLeft(rest, " \t")), time.Time{}
}

// firstToken returns the first whitespace-separated token of s, where a
// double-quoted string (with backslash escapes) does not end at a space.
func firstToken(s string) string {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case (c == ' ' || c == '\t') && !quoted:
			return s[:i]
		}
	}
	return s
}

// formatFromLine makes a separator line (with "\n") for a Writer. Control
// characters in the sender, which would break the line, become '_'; an
// empty sender becomes "MAILER-DAEMON".
func formatFromLine(sender string, date time.Time) []byte {
	b := make([]byte, 0, len(sender)+40)
	b = append(b, "From "...)
	if strings.TrimSpace(sender) == "" {
		sender = "MAILER-DAEMON"
	}
	for i := 0; i < len(sender); i++ {
		c := sender[i]
		if c < 0x20 || c == 0x7f {
			c = '_'
		}
		b = append(b, c)
	}
	b = append(b, ' ')
	b = date.UTC().AppendFormat(b, asctime)
	return append(b, '\n')
}
