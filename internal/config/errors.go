package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration: a syntax error, an
// unknown key, a value of the wrong type or a value that fails validation.
type Problem struct {
	File   string // file name as given to Load or Parse; "" for a Config built in code
	Line   int    // 1-based line of Key in File; 0 when unknown (a default value)
	Column int    // 1-based column, set for syntax errors only
	Key    string // dotted key such as "delivery.retry_schedule[1]"; "" for syntax errors
	Msg    string // what is wrong

	// alt is an equivalent report naming another key, used when Key does
	// not appear in the file but alt.Key does (cross-field checks).
	alt *Problem
}

// Error formats the problem as "FILE:LINE:COLUMN: KEY: MSG", leaving out the
// parts that are unknown.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Line))
			if p.Column > 0 {
				b.WriteByte(':')
				b.WriteString(strconv.Itoa(p.Column))
			}
		}
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem found in one configuration. It is returned as the
// error of Load and Parse; use errors.As to get at the individual problems.
type Errors []*Problem

// Error lists the problems, one per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, so that errors.As finds a *Problem.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, p := range e {
		errs[i] = p
	}
	return errs
}

// add appends a problem about key.
func (e *Errors) add(key, format string, args ...any) *Problem {
	p := &Problem{Key: key, Msg: fmt.Sprintf(format, args...)}
	*e = append(*e, p)
	return p
}
