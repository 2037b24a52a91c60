package listserv

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/dsn"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/mimetext"
)

// Bounce classification. bounceKind reads a message that came back to a
// -bounces address and says what it reports:
//
//	RFC 3464 report (dsn.Parse finds a message/delivery-status part),
//	per recipient block:
//	  Action failed, Status 5.x.x (or none)  ─▶ hard
//	  Action failed, Status 4.x.x            ─▶ soft (the MTA gave up on
//	                                            a temporary failure: full
//	                                            mailbox, queue lifetime)
//	  no Action, Status 5.x.x                ─▶ hard
//	  delayed, relayed, delivered, expanded  ─▶ none (not counted)
//	  the report is the worst of its blocks; the failed blocks'
//	  Final-Recipient and Original-Recipient are the recipients
//	anything else (Exim, qmail, old Sendmail text bounces), read as text
//	up to where the returned message starts:
//	  a delay warning (subject or text says so, and nothing says the
//	  failure is permanent)                  ─▶ none
//	  enhanced status codes 4.x.x only       ─▶ soft
//	  otherwise                              ─▶ hard (as before: most
//	                                            text bounces are failures)
//	  recipients: X-Failed-Recipients, else the addresses in the text
//
// The recipients matter only for a bounce without VERP (at the plain
// -bounces address): bounce.go scores those that are members.

// bounceClass is what a bounce counts for.
type bounceClass int

const (
	bounceNone bounceClass = iota // no failure: delay warning, relay or delivery report
	bounceSoft                    // temporary failure given up on: half a point
	bounceHard                    // permanent failure: one point
)

func (c bounceClass) String() string {
	switch c {
	case bounceSoft:
		return "soft"
	case bounceHard:
		return "hard"
	}
	return "none"
}

// maxBounceRcpts bounds the recipients taken from one bounce.
const maxBounceRcpts = 20

// bounceReport is what bounceKind found.
type bounceReport struct {
	class  bounceClass
	detail string   // for the mail log and the notices
	rcpts  []string // failed recipients named in the bounce, lowercased, unique
}

func (r *bounceReport) addRcpt(addr string) {
	a := strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	if a == "" || !strings.Contains(a, "@") || len(r.rcpts) >= maxBounceRcpts {
		return
	}
	for _, x := range r.rcpts {
		if x == a {
			return
		}
	}
	r.rcpts = append(r.rcpts, a)
}

// bounceKind classifies msg (see above).
func bounceKind(msg *message) bounceReport {
	n, err := dsn.Parse(bytes.NewReader(msg.raw))
	if err == nil && len(n.Recipients) > 0 {
		return dsnReport(n, msg)
	}
	return textReport(msg)
}

// blockClass classifies one recipient block of a delivery status report.
func blockClass(action, status string) bounceClass {
	switch action {
	case dsn.ActionFailed:
		if strings.HasPrefix(status, "4.") {
			return bounceSoft
		}
		return bounceHard
	case "":
		if strings.HasPrefix(status, "5.") {
			return bounceHard
		}
	}
	return bounceNone
}

func dsnReport(n *dsn.Notification, msg *message) bounceReport {
	var rep bounceReport
	var actions []string
	var worst *dsn.RecipientStatus
	for i := range n.Recipients {
		r := &n.Recipients[i]
		actions = append(actions, r.Action)
		c := blockClass(r.Action, r.Status)
		if c == bounceNone {
			continue
		}
		rep.addRcpt(r.FinalRecipient)
		rep.addRcpt(r.OriginalRecipient)
		if c > rep.class {
			rep.class, worst = c, r
		}
	}
	if worst == nil {
		rep.detail = "actions " + strings.Join(actions, ",")
		return rep
	}
	why := worst.Diagnostic
	if why == "" {
		why = strings.TrimSpace(msg.subject())
	}
	status := worst.Status
	if status == "" {
		status = "none"
	}
	rep.detail = clip(fmt.Sprintf("status %s: %s", status, oneLine(why)), 300)
	return rep
}

// bounceCopyMarkers are phrases (lowercased) of text bounces where the
// returned message starts: the text after them is not the MTA's (mimetext
// writes the first one for an inline message/rfc822).
func bounceCopyMarkers() []string {
	return []string{
		"---------- forwarded message ----------",
		"copy of the message",
		"original message follows",
		"unsent message follows",
		"returned message follows",
		"----- original message -----",
		"the header of the original message",
		"the body of the message",
	}
}

// bounceDelayMarkers say that delivery is still being tried.
func bounceDelayMarkers() []string {
	return []string{
		"not yet been delivered",
		"delivery is delayed",
		"has been delayed",
		"still being retried",
		"will continue trying",
		"will keep trying",
		"attempts will continue",
		"no action is required",
	}
}

// bouncePermanentMarkers say that delivery failed for good.
func bouncePermanentMarkers() []string {
	return []string{
		"permanent error",
		"permanent fatal error",
		"permanently",
		"given up",
		"giving up",
		"could not be delivered",
		"couldn't be delivered",
		"wasn't delivered",
		"was not delivered",
		"undeliverable",
		"delivery has failed",
		"user unknown",
		"no such user",
		"does not exist",
	}
}

func textReport(msg *message) bounceReport {
	doc, _ := mimetext.Parse(msg.raw) // never fails: a best-effort Doc for any input
	text := doc.Text
	low := strings.ToLower(text)
	cut := len(low)
	for _, m := range bounceCopyMarkers() {
		if i := strings.Index(low, m); i >= 0 && i < cut {
			cut = i
		}
	}
	text, low = text[:cut], low[:cut]
	subject := oneLine(doc.Subject)
	lsubj := strings.ToLower(subject)

	var rep bounceReport
	delay := containsAny(low, bounceDelayMarkers()) ||
		strings.Contains(lsubj, "delayed") || strings.Contains(lsubj, "delay notification") ||
		strings.HasPrefix(lsubj, "warning: message")
	codes := enhancedCodes(text)
	switch {
	case delay && !containsAny(low, bouncePermanentMarkers()):
		rep.class = bounceNone
		rep.detail = clip("delay warning: "+subject, 300)
		return rep
	case len(codes) > 0 && !hasClass(codes, '5') && hasClass(codes, '4'):
		rep.class = bounceSoft
	default:
		rep.class = bounceHard
	}
	rep.detail = subject
	if len(codes) > 0 {
		rep.detail = "status " + strings.Join(codes, ",") + ": " + subject
	}
	rep.detail = clip(rep.detail, 300)
	for _, f := range msg.fields {
		if f.is("X-Failed-Recipients") {
			for a := range strings.SplitSeq(f.value(), ",") {
				rep.addRcpt(a)
			}
		}
	}
	if len(rep.rcpts) == 0 {
		for _, a := range textAddresses(text) {
			rep.addRcpt(a)
		}
	}
	return rep
}

// textAddresses returns the mail addresses written in text, in order.
func textAddresses(text string) []string {
	var out []string
	words := strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || strings.ContainsRune("<>()[],;:\"'", r)
	})
	for _, w := range words {
		w = strings.TrimRight(w, ".")
		if !strings.Contains(w, "@") || strings.HasPrefix(w, "@") || strings.HasSuffix(w, "@") {
			continue
		}
		if a, _, err := lists.NormalizeAddress(w); err == nil {
			out = append(out, a)
			if len(out) == maxBounceRcpts {
				break
			}
		}
	}
	return out
}

// enhancedCodes returns the distinct enhanced status codes (RFC 3463,
// "5.1.1") in text, at most ten; dotted numbers with more parts (IPv4
// addresses) are not codes.
func enhancedCodes(text string) []string {
	digits := func(i int) int { // end of the up to 3 digits from i
		j := i
		for j < len(text) && j-i < 3 && isDigit(text[j]) {
			j++
		}
		return j
	}
	var out []string
	seen := map[string]bool{}
	for i := 0; i+4 < len(text) && len(out) < 10; i++ {
		c := text[i]
		if (c != '2' && c != '4' && c != '5') || text[i+1] != '.' || (i > 0 && (isDigit(text[i-1]) || text[i-1] == '.')) {
			continue
		}
		k := digits(i + 2)
		if k == i+2 || k >= len(text) || text[k] != '.' {
			continue
		}
		m := digits(k + 1)
		if m == k+1 || (m < len(text) && isDigit(text[m])) || (m+1 < len(text) && text[m] == '.' && isDigit(text[m+1])) {
			continue
		}
		if code := text[i:m]; !seen[code] {
			seen[code] = true
			out = append(out, code)
		}
		i = m - 1
	}
	return out
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func hasClass(codes []string, class byte) bool {
	for _, c := range codes {
		if c[0] == class {
			return true
		}
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// clip cuts s to at most n bytes, at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
