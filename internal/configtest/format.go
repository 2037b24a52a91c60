package configtest

import (
	"bufio"
	"fmt"
	"io"
)

// Summary counts a Result.
type Summary struct {
	Passed, Failed         int // cases
	Held, Broken, Warnings int // invariants: held, failures broken, warnings broken
}

// Summary counts the cases and invariants of r.
func (r *Result) Summary() Summary {
	var s Summary
	for _, c := range r.Cases {
		if c.Passed {
			s.Passed++
		} else {
			s.Failed++
		}
	}
	for _, inv := range r.Invariants {
		switch {
		case inv.Held():
			s.Held++
		case inv.Severity == Failure:
			s.Broken++
		default:
			s.Warnings++
		}
	}
	return s
}

func (s Summary) String() string {
	return fmt.Sprintf("tests: %d passed, %d failed; invariants: %d held, %d failed, %d warning(s)",
		s.Passed, s.Failed, s.Held, s.Broken, s.Warnings)
}

// Write writes r as text: a FAIL line per failing case, followed by its
// trail indented, and a FAIL or WARN line per problem of a broken
// invariant; with verbose also a PASS line per passing case and held
// invariant; then the summary.
//
//	FAIL test "gerrit relays" (posthorn.toml:42): expected relayed via mx1.example.org:25, got refused 554 5.7.1 <x@example.com>: Relay access denied
//	    client: SMTP client 10.0.0.1, the first host of service gerrit's network 10.0.0.0/24 (service[0].networks[0])
//	    trust: not trusted: 10.0.0.1 is in none of [127.0.0.0/8, ::1/128] (smtp.trusted_networks)
func (r *Result) Write(w io.Writer, verbose bool) error {
	bw := bufio.NewWriter(w)
	for _, inv := range r.Invariants {
		switch {
		case inv.Held():
			if verbose {
				fmt.Fprintf(bw, "PASS invariant %s\n", inv.Name)
			}
		default:
			word := "WARN"
			if inv.Severity == Failure {
				word = "FAIL"
			}
			for _, p := range inv.Problems {
				fmt.Fprintf(bw, "%s invariant %s: %s\n", word, inv.Name, p)
			}
		}
	}
	for i := range r.Cases {
		c := &r.Cases[i]
		if c.Passed && !verbose {
			continue
		}
		word := "FAIL"
		if c.Passed {
			word = "PASS"
		}
		fmt.Fprintf(bw, "%s test %q", word, c.Name)
		if src := c.Source.String(); src != "" {
			fmt.Fprintf(bw, " (%s)", src)
		}
		switch {
		case c.Err != nil:
			fmt.Fprintf(bw, ": could not run: %v\n", c.Err)
		case c.Passed:
			fmt.Fprintf(bw, ": %s\n", actual(c, false))
		default:
			fmt.Fprintf(bw, ": expected %s, got %s\n", describe(c.Expected), actual(c, c.Expected.Service != ""))
		}
		if !c.Passed {
			for _, st := range c.Trail {
				fmt.Fprintf(bw, "    %s\n", st)
			}
		}
	}
	if r.Err != nil {
		fmt.Fprintf(bw, "FAIL stopped early: %v\n", r.Err)
	}
	fmt.Fprintln(bw, r.Summary())
	return bw.Flush()
}

// actual describes what happened to a case: "relayed via
// mx1.example.org:25", "refused 554 5.7.1 <x@example.com>: Relay access
// denied", with " as service NAME" when withService.
func actual(c *Case, withService bool) string {
	s := describe(Outcome{Outcome: c.Actual.Outcome, Upstream: c.Actual.Upstream, Rule: c.Actual.Rule})
	if c.Actual.Outcome == Refused && c.Reply != nil {
		s = Refused + " " + c.Reply.Error()
	}
	if withService {
		s += " as service " + c.Actual.Service
	}
	return s
}
