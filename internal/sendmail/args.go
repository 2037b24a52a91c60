// Package sendmail is the pure logic of Posthorn's sendmail(1)-compatible
// front end: it parses the command line that programs (PHP mail(), cron,
// git send-email, Java and Python wrappers) pass to /usr/sbin/sendmail, and
// reads the message from standard input into an envelope, a header section
// and a body stream. Writing to the spool is the caller's job.
//
// Flow:
//
//	ParseArgs(args) ─▶ Options ─▶ ReadMessage(stdin, opts, defaultFrom, maxSize) ─▶ *Message
//	                                  header: lines up to the first empty line,
//	                                          unfolded for -t, Bcc removed, From added
//	                                  body:   streamed, LF → CRLF, ends at EOF
//	                                          or a lone "." line (unless -i / -oi)
//	any error ─▶ ExitCode(err) ─▶ sysexits code (EX_USAGE, EX_DATAERR, ...)
//
// Choices where implementations differ, documented here once:
//   - With -t, recipients on the command line are added to those found in
//     the header, as Postfix does (Sendmail 8 instead removes them).
//   - With -t, when the header has Resent-To, Resent-Cc or Resent-Bcc
//     fields, only those are used (RFC 5322 resending); otherwise To, Cc
//     and Bcc.
//   - Bcc and Resent-Bcc fields are always removed from the stored header.
//   - A first line "From " (an mbox separator) is dropped.
//   - Input that does not begin with a header field is all body; the header
//     section then holds only the fields we add. A line that is not a header
//     field in the middle of the header section likewise starts the body.
//   - Date and Message-ID are not added here: the caller, which owns the
//     clock and the host name, adds them when missing.
package sendmail

import (
	"fmt"
	"strings"
)

// Modes of operation.
const (
	ModeDeliver    = "deliver"    // read a message and queue it (default, -bm)
	ModeMailq      = "mailq"      // list the queue (-bp)
	ModeNewaliases = "newaliases" // rebuild aliases (-bi, -I): nothing to do for us
	ModeVersion    = "version"    // print the version (--version)
)

// Options is what the command line asks for.
type Options struct {
	From         string   // envelope sender from -f or -r; "" if not given
	NullSender   bool     // -f '<>' or -f '': the null reverse-path
	FullName     string   // -F NAME, for a From: field we add
	ExtractRcpts bool     // -t
	IgnoreDots   bool     // -i, -oi: a lone "." line does not end the input
	Rcpts        []string // recipients given as arguments, comma lists split
	Mode         string   // one of the Mode constants
	Config       string   // --config FILE, --config=FILE, -C FILE
	Verbose      bool     // -v

	// Delivery status notification requests, passed on to the spool.
	DSNNotify []string // -N: "never", or some of "success", "delay", "failure"
	DSNRet    string   // -R: "full" or "hdrs"
	EnvID     string   // -V: envelope id (RFC 3461 ENVID)
	BodyType  string   // -B: "7BIT" or "8BITMIME"; other values are ignored
}

// Option letters that take a value, attached (-fADDR) or as the next
// argument (-f ADDR), as getopt does. The rest of the known letters are
// flags, which may be grouped (-ti).
const (
	valueLetters = "ABCFLNORVXbdefhopqr"
	flagLetters  = "GIUimntv"
)

// maxArgValue bounds option values and recipients; nothing legitimate is
// longer, and it keeps the header lines we build short.
const maxArgValue = 512

// ParseArgs parses sendmail's command line, args excluding argv[0]. Options
// may follow recipients (as with GNU getopt); "--" ends the options.
func ParseArgs(args []string) (Options, error) {
	opts := Options{Mode: ModeDeliver}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			for _, a := range args[i+1:] {
				if err := opts.addRcpts(a); err != nil {
					return Options{}, err
				}
			}
			i = len(args)
			continue
		case strings.HasPrefix(arg, "--"):
			n, err := opts.long(arg, args[i+1:])
			if err != nil {
				return Options{}, err
			}
			i += n
			continue
		case arg == "-":
			return Options{}, &UsageError{Msg: `unexpected argument "-"`}
		case !strings.HasPrefix(arg, "-"):
			if err := opts.addRcpts(arg); err != nil {
				return Options{}, err
			}
			continue
		}
		n, err := opts.cluster(arg[1:], args[i+1:])
		if err != nil {
			return Options{}, err
		}
		i += n
	}
	if opts.Mode == ModeDeliver && !opts.ExtractRcpts && len(opts.Rcpts) == 0 {
		return Options{}, &NoRecipientsError{}
	}
	return opts, nil
}

// long handles "--name" and "--name=value"; it returns how many of the
// following arguments it used.
func (o *Options) long(arg string, rest []string) (int, error) {
	name, value, hasValue := strings.Cut(arg[2:], "=")
	switch name {
	case "config":
		if hasValue {
			o.Config = value
			return 0, nil
		}
		if len(rest) == 0 {
			return 0, &UsageError{Msg: "option --config needs a file name"}
		}
		o.Config = rest[0]
		return 1, nil
	case "version":
		if hasValue {
			return 0, &UsageError{Msg: "option --version takes no value"}
		}
		o.Mode = ModeVersion
		return 0, nil
	}
	return 0, &UsageError{Msg: "unknown option --" + name}
}

// cluster handles one argument of grouped single-letter options (without
// its "-"); it returns how many of the following arguments it used.
func (o *Options) cluster(letters string, rest []string) (int, error) {
	for j := 0; j < len(letters); j++ {
		c := letters[j]
		switch {
		case strings.IndexByte(flagLetters, c) >= 0:
			if err := o.flag(c); err != nil {
				return 0, err
			}
		case strings.IndexByte(valueLetters, c) >= 0:
			if j+1 < len(letters) {
				return 0, o.value(c, letters[j+1:])
			}
			if c == 'd' || c == 'q' { // values only ever attached
				return 0, o.value(c, "")
			}
			if len(rest) == 0 {
				return 0, &UsageError{Msg: "option -" + string(c) + " needs a value"}
			}
			return 1, o.value(c, rest[0])
		default:
			return 0, &UsageError{Msg: fmt.Sprintf("unknown option -%c", c)}
		}
	}
	return 0, nil
}

func (o *Options) flag(c byte) error {
	switch c {
	case 't':
		o.ExtractRcpts = true
	case 'i':
		o.IgnoreDots = true
	case 'v':
		o.Verbose = true
	case 'I':
		o.Mode = ModeNewaliases
	case 'G', 'U', 'm', 'n':
		// gateway submission, initial user submission, "me too", no
		// aliasing: accepted and ignored.
	}
	return nil
}

func (o *Options) value(c byte, v string) error {
	if len(v) > maxArgValue || hasCtl(v) {
		return &UsageError{Msg: "value of option -" + string(c) + " is too long or has control characters"}
	}
	switch c {
	case 'f', 'r':
		return o.setFrom(v)
	case 'F':
		o.FullName = v
	case 'C':
		o.Config = v
	case 'b':
		return o.setMode(v)
	case 'o':
		// -oi ignores dots; -oem, -oee, -odi, -odb, -odq, -om, -oQ..., -o7,
		// -o8 and the rest are sendmail.cf options with no meaning here.
		if v == "i" {
			o.IgnoreDots = true
		}
	case 'O':
		name, val, _ := strings.Cut(v, "=")
		if strings.EqualFold(strings.TrimSpace(name), "IgnoreDots") &&
			(val == "" || strings.EqualFold(val, "true") || strings.EqualFold(val, "t")) {
			o.IgnoreDots = true
		}
	case 'N':
		return o.setNotify(v)
	case 'R':
		switch strings.ToLower(v) {
		case "full", "hdrs":
			o.DSNRet = strings.ToLower(v)
		default:
			return &UsageError{Msg: `option -R takes "full" or "hdrs", not "` + v + `"`}
		}
	case 'V':
		if v == "" || len(v) > 100 || !isPrintableASCII(v) {
			return &UsageError{Msg: "option -V needs an envelope id of 1 to 100 printable ASCII characters"}
		}
		o.EnvID = v
	case 'B':
		if u := strings.ToUpper(v); u == "7BIT" || u == "8BITMIME" {
			o.BodyType = u
		}
	case 'q':
		return &UsageError{Msg: "queue runs (-q) are not supported; use \"posthorn queue\""}
	case 'A', 'L', 'X', 'd', 'e', 'h', 'p':
		// submit.cf selection, log label, log file, debugging, error mode,
		// hop count, protocol: accepted and ignored.
	}
	return nil
}

func (o *Options) setMode(v string) error {
	switch v {
	case "m":
		o.Mode = ModeDeliver
	case "p":
		o.Mode = ModeMailq
	case "i":
		o.Mode = ModeNewaliases
	default:
		return &UsageError{Msg: "mode -b" + v + " is not supported (only -bm, -bp and -bi are)"}
	}
	return nil
}

func (o *Options) setFrom(v string) error {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	if v == "" {
		o.From, o.NullSender = "", true
		return nil
	}
	if strings.ContainsAny(v, " \t<>") && !strings.HasPrefix(v, `"`) {
		return &UsageError{Msg: "invalid sender address " + quote(v)}
	}
	o.From, o.NullSender = v, false
	return nil
}

func (o *Options) setNotify(v string) error {
	var list []string
	seen := map[string]bool{}
	for item := range strings.SplitSeq(strings.ToLower(v), ",") {
		item = strings.TrimSpace(item)
		switch item {
		case "never", "success", "delay", "failure":
		default:
			return &UsageError{Msg: `option -N takes "never" or a list of "success", "delay", "failure", not ` + quote(v)}
		}
		if !seen[item] {
			seen[item] = true
			list = append(list, item)
		}
	}
	if seen["never"] && len(list) > 1 {
		return &UsageError{Msg: `option -N: "never" cannot be combined with other values`}
	}
	o.DSNNotify = list
	return nil
}

// addRcpts adds the recipients of one argument, which may be a comma
// separated list; "<addr>" loses its brackets.
func (o *Options) addRcpts(arg string) error {
	if len(arg) > 64*maxArgValue || hasCtl(arg) {
		return &UsageError{Msg: "recipient argument is too long or has control characters"}
	}
	for _, item := range splitList(arg) {
		a := strings.TrimSpace(item)
		if strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") {
			a = strings.TrimSpace(a[1 : len(a)-1])
		}
		if a == "" {
			continue
		}
		if len(a) > maxArgValue || (strings.ContainsAny(a, " \t<>") && !strings.Contains(a, `"`)) {
			return &UsageError{Msg: "invalid recipient address " + quote(a)}
		}
		o.Rcpts = append(o.Rcpts, a)
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }

func hasCtl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// splitList splits s at commas outside double quotes, angle brackets and
// parentheses.
func splitList(s string) []string {
	var (
		out    []string
		start  int
		quoted bool
		angle  int
		paren  int
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			angle++
		case c == '>' && angle > 0:
			angle--
		case c == '(':
			paren++
		case c == ')' && paren > 0:
			paren--
		case c == ',' && angle == 0 && paren == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
