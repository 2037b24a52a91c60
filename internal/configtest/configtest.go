package configtest

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/smtperr"
)

// Outcomes of a case, as written in expect.
const (
	Relayed = config.ExpectRelayed
	Refused = config.ExpectRefused
	// The outcomes of a post to a list: its posting chain's action.
	Accepted  = config.ExpectAccepted
	Held      = config.ExpectHeld
	Rejected  = config.ExpectRejected
	Discarded = config.ExpectDiscarded
	// Direct is the upstream of mail delivered by MX lookup.
	Direct = "direct"
)

// Options configures Run. The zero Options runs the cases and Builtin().
type Options struct {
	// Sources are where the cases were written, one per cfg.Tests (as
	// returned by config.LoadWithTests); missing entries are unknown.
	Sources []config.TestSource
	// Invariants to check; nil means Builtin().
	Invariants []Invariant
	// SystemRoots reports whether the system certificate roots can be
	// loaded, for delivery with TLS "required" and no tls_ca_file; nil
	// asks crypto/x509.
	SystemRoots func() bool
	// Lists is the current list data, opened read-only (nothing is
	// written or recorded); nil when there is none. Cases to addresses
	// on lists.domains and the list invariant read it.
	Lists *lists.Store
	// ListsErr is why Lists is nil although list data exists (it could
	// not be opened): cases to list domains cannot run and the list
	// invariant reports it.
	ListsErr error
}

// Step is one decision of a simulated submission.
type Step struct {
	Stage string // "client", "trust", "service", "auth", "mail", "rcpt", "data", "route", "list", "rule"
	Key   string // the configuration key that decided, such as "smtp.trusted_networks[1]"; "" when none
	Text  string // what was decided
}

func (s Step) String() string {
	if s.Key == "" {
		return s.Stage + ": " + s.Text
	}
	return s.Stage + ": " + s.Text + " (" + s.Key + ")"
}

// Trail is the ordered decisions of one case.
type Trail []Step

// Add appends a step.
func (t *Trail) Add(stage, key, format string, args ...any) {
	*t = append(*t, Step{Stage: stage, Key: key, Text: fmt.Sprintf(format, args...)})
}

// Outcome is what happened, or is expected to happen, to a submission.
type Outcome struct {
	Outcome  string // Relayed, Refused, or for a list post Accepted, Held, Rejected, Discarded; "" (expected: any) only in Expected
	Upstream string // first upstream tried ("host:port") or Direct; "" when refused, a list post or any
	Service  string // the service the submission is attributed to; "" for any
	Code     int    // SMTP reply code: 250 when relayed or posted, the refusal's otherwise; 0 for any
	// Rule is the posting-chain rule that decided a list post ("" when
	// the post went through the whole chain, or for any); record-only
	// holds name every record-only rule that hit, joined by ",".
	Rule string
}

// Case is the result of one test case.
type Case struct {
	Name     string
	Source   config.TestSource
	Passed   bool
	Expected Outcome
	Actual   Outcome
	Reply    *smtperr.Error // the refusal, when Actual.Outcome is Refused
	Route    []string       // upstreams in failover order, or [Direct]
	Trail    Trail
	// Err is set when the case could not be run (an unreadable
	// message_file); such a case has not passed.
	Err error
}

// Severity says what a broken invariant does to the configuration.
type Severity int

const (
	// Warning is reported; the configuration is still accepted.
	Warning Severity = iota + 1
	// Failure refuses the configuration.
	Failure
)

func (s Severity) String() string {
	if s == Failure {
		return "failure"
	}
	return "warning"
}

// Env is what invariants may ask about the host.
type Env struct {
	SystemRoots func() bool
	// Context bounds the invariants' reads of list data.
	Context context.Context
	// Lists and ListsErr are those of Options.
	Lists    *lists.Store
	ListsErr error
}

// Invariant is a named check that every configuration must pass.
type Invariant struct {
	Name     string
	Severity Severity
	// Check returns what is wrong, or nothing when the invariant holds.
	Check func(cfg *config.Config, env Env) []string
}

// InvariantResult is the outcome of one invariant.
type InvariantResult struct {
	Name     string
	Severity Severity
	Problems []string // empty when it holds
}

// Held reports whether the invariant holds.
func (r InvariantResult) Held() bool { return len(r.Problems) == 0 }

// Result is everything Run found.
type Result struct {
	Cases      []Case
	Invariants []InvariantResult
	// Err is set when Run stopped early (its context ended).
	Err error
}

// Failed reports whether the configuration must be refused: a case did
// not pass, an invariant of severity Failure does not hold, or Run did
// not finish.
func (r *Result) Failed() bool {
	if r.Err != nil {
		return true
	}
	for _, c := range r.Cases {
		if !c.Passed {
			return true
		}
	}
	for _, inv := range r.Invariants {
		if !inv.Held() && inv.Severity == Failure {
			return true
		}
	}
	return false
}

// Failures names every failing case and invariant, for a reload's log
// line or an API error.
func (r *Result) Failures() []string {
	var out []string
	for _, c := range r.Cases {
		if !c.Passed {
			out = append(out, fmt.Sprintf("test %q", c.Name))
		}
	}
	for _, inv := range r.Invariants {
		if !inv.Held() && inv.Severity == Failure {
			out = append(out, "invariant "+inv.Name)
		}
	}
	if r.Err != nil {
		out = append(out, r.Err.Error())
	}
	return out
}

// Run runs every test case of cfg (validated, with its test files loaded)
// and the invariants, and returns what it found. It touches no network
// and writes nothing.
func Run(ctx context.Context, cfg *config.Config, opts Options) Result {
	env := Env{SystemRoots: opts.SystemRoots, Context: ctx, Lists: opts.Lists, ListsErr: opts.ListsErr}
	if env.SystemRoots == nil {
		env.SystemRoots = func() bool {
			pool, err := x509.SystemCertPool()
			return err == nil && pool != nil
		}
	}
	invariants := opts.Invariants
	if invariants == nil {
		invariants = Builtin()
	}
	var res Result
	for _, inv := range invariants {
		if err := ctx.Err(); err != nil {
			res.Err = err
			return res
		}
		res.Invariants = append(res.Invariants, InvariantResult{Name: inv.Name, Severity: inv.Severity,
			Problems: inv.Check(cfg, env)})
	}
	sim := newSimulator(cfg)
	sim.withLists(ctx, opts.Lists, opts.ListsErr)
	for i := range cfg.Tests {
		if err := ctx.Err(); err != nil {
			res.Err = err
			return res
		}
		c := sim.run(&cfg.Tests[i])
		if i < len(opts.Sources) {
			c.Source = opts.Sources[i]
		}
		res.Cases = append(res.Cases, c)
	}
	return res
}

// describe formats an outcome: "relayed via mx1.example.org:25 as
// service gerrit", "refused 554".
func describe(o Outcome) string {
	var b strings.Builder
	if o.Outcome == "" {
		b.WriteString("any outcome")
	} else {
		b.WriteString(o.Outcome)
	}
	if o.Upstream != "" {
		b.WriteString(" via " + o.Upstream)
	}
	if o.Code != 0 && (o.Outcome == Refused || o.Outcome == "") {
		fmt.Fprintf(&b, " %d", o.Code)
	}
	if o.Rule != "" {
		b.WriteString(" by rule " + o.Rule)
	}
	if o.Service != "" {
		b.WriteString(" as service " + o.Service)
	}
	return b.String()
}
