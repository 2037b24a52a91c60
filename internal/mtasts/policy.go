package mtasts

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode is a policy's mode (RFC 8461 section 5).
type Mode string

// The policy modes. A zero Policy has Mode "": the domain has no policy.
const (
	ModeEnforce Mode = "enforce" // only matching MX hosts, over verified TLS
	ModeTesting Mode = "testing" // deliver as usual, report what would have failed
	ModeNone    Mode = "none"    // the domain withdrew its policy
)

// MaxMaxAge is the largest max_age a policy may give: about one year.
const MaxMaxAge = 31557600 * time.Second

// Policy is a domain's MTA-STS policy, as fetched and parsed.
type Policy struct {
	Domain  string        // the policy domain, lower case
	ID      string        // the id of the TXT record the policy was fetched under
	Mode    Mode          // "" when the domain has no policy
	MX      []string      // mx patterns, lower case, without trailing dot
	MaxAge  time.Duration // how long the policy may be cached
	Fetched time.Time     // when it was fetched
	Expires time.Time     // Fetched + MaxAge
}

// Applies reports whether the policy changes delivery: enforce or testing.
func (p Policy) Applies() bool { return p.Mode == ModeEnforce || p.Mode == ModeTesting }

// Match reports whether mxHost is allowed by one of the policy's mx
// patterns. A pattern "*.example.net" matches a name with exactly one more
// label on the left ("mx1.example.net", not "example.net" nor
// "a.b.example.net"); any other pattern matches only itself. Case and a
// trailing dot are ignored.
func (p Policy) Match(mxHost string) bool {
	h := strings.ToLower(strings.TrimSuffix(mxHost, "."))
	if h == "" {
		return false
	}
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			dot := strings.IndexByte(h, '.')
			if dot > 0 && h[dot+1:] == rest {
				return true
			}
			continue
		}
		if h == pat {
			return true
		}
	}
	return false
}

// ParseError is a policy file that does not follow RFC 8461 section 3.2.
type ParseError struct {
	Line  int    // 1-based line number; 0 when the problem is not on one line
	Field string // the field concerned, "" when none
	Msg   string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("mtasts: policy")
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " %s", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Parse parses a policy file body. Lines end in LF or CRLF; blank lines
// are ignored; fields are "key: value" with optional white space around the
// value; unknown fields are ignored. version (STSv1), mode and max_age must
// appear exactly once; mx at least once unless the mode is none. Domain,
// ID, Fetched and Expires are left for the caller.
func Parse(body []byte) (Policy, error) {
	var p Policy
	seen := make(map[string]int) // field -> first line
	lines := bytes.Split(body, []byte("\n"))
	for i, raw := range lines {
		n := i + 1
		line := string(bytes.TrimSuffix(raw, []byte("\r")))
		if strings.TrimRight(line, " \t") == "" {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return Policy{}, &ParseError{Line: n, Msg: fmt.Sprintf("%q is not a \"key: value\" field", clip(line))}
		}
		if !validKey(key) {
			return Policy{}, &ParseError{Line: n, Msg: fmt.Sprintf("invalid field name %q", clip(key))}
		}
		value = strings.Trim(value, " \t")
		if key != "mx" {
			if first, dup := seen[key]; dup && isKnown(key) {
				return Policy{}, &ParseError{Line: n, Field: key, Msg: fmt.Sprintf("repeated (first on line %d)", first)}
			}
			seen[key] = n
		}
		if err := p.set(key, value); err != nil {
			return Policy{}, &ParseError{Line: n, Field: key, Msg: err.Error()}
		}
	}
	for _, f := range []string{"version", "mode", "max_age"} {
		if _, ok := seen[f]; !ok {
			return Policy{}, &ParseError{Field: f, Msg: "missing"}
		}
	}
	if len(p.MX) == 0 && p.Mode != ModeNone {
		return Policy{}, &ParseError{Field: "mx", Msg: fmt.Sprintf("missing: mode %s needs at least one mx", p.Mode)}
	}
	return p, nil
}

func isKnown(key string) bool {
	return key == "version" || key == "mode" || key == "max_age"
}

// set stores one field's value; unknown fields are ignored.
func (p *Policy) set(key, value string) error {
	switch key {
	case "version":
		if value != "STSv1" {
			return fmt.Errorf("is %q, want STSv1", clip(value))
		}
	case "mode":
		switch m := Mode(value); m {
		case ModeEnforce, ModeTesting, ModeNone:
			p.Mode = m
		default:
			return fmt.Errorf("is %q, want enforce, testing or none", clip(value))
		}
	case "max_age":
		if value == "" || len(value) > 10 || strings.Trim(value, "0123456789") != "" {
			return fmt.Errorf("is %q, want up to 10 digits", clip(value))
		}
		secs, err := strconv.ParseInt(value, 10, 64)
		if err != nil || secs > int64(MaxMaxAge/time.Second) {
			return fmt.Errorf("is %s seconds, more than the maximum %d", value, int64(MaxMaxAge/time.Second))
		}
		p.MaxAge = time.Duration(secs) * time.Second
	case "mx":
		pat := strings.ToLower(strings.TrimSuffix(value, "."))
		if err := checkPattern(pat); err != nil {
			return fmt.Errorf("%q: %w", clip(value), err)
		}
		p.MX = append(p.MX, pat)
	}
	return nil
}

// checkPattern accepts a host name, optionally with "*." in front.
func checkPattern(pat string) error {
	name, wild := strings.CutPrefix(pat, "*.")
	if name == "" {
		return fmt.Errorf("empty host name")
	}
	if len(name) > 253 {
		return fmt.Errorf("host name longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	if wild && len(labels) < 2 {
		return fmt.Errorf("wildcard needs at least two labels after \"*.\"")
	}
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return err
		}
	}
	return nil
}

func checkLabel(l string) error {
	if l == "" || len(l) > 63 {
		return fmt.Errorf("label %q must have 1 to 63 characters", clip(l))
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with a hyphen", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("label %q has invalid character %q", l, c)
		}
	}
	return nil
}

// validKey checks sts-policy-ext-name: 1*32 of ALPHA, DIGIT, "_", "-", ".".
func validKey(k string) bool {
	if k == "" || len(k) > 32 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
