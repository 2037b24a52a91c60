package health

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// State is the outcome of a check. The numeric values are the Nagios
// plugin exit codes.
type State int

// The states, in Nagios plugin exit code order.
const (
	OK       State = 0
	Warning  State = 1
	Critical State = 2
	Unknown  State = 3
)

var stateNames = [...]string{"ok", "warning", "critical", "unknown"}

// String returns the lower-case name used in JSON: "ok", "warning",
// "critical" or "unknown".
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return stateNames[s]
}

// severity orders states from best to worst: OK < WARNING < UNKNOWN <
// CRITICAL. An UNKNOWN check may hide a problem, so it outranks WARNING; a
// known CRITICAL outranks it.
func (s State) severity() int {
	switch s {
	case OK:
		return 0
	case Warning:
		return 1
	case Unknown:
		return 2
	default:
		return 3
	}
}

// Worse reports whether s is worse than t.
func (s State) Worse(t State) bool { return s.severity() > t.severity() }

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; case is ignored.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if strings.EqualFold(string(b), n) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("health: unknown state %q", b)
}

// Perf is one performance value of a check, as a Nagios plugin reports it
// after the "|" of its status line. Nil thresholds and bounds are omitted.
type Perf struct {
	Label string   `json:"label"`
	Value float64  `json:"value"`
	UOM   string   `json:"uom,omitempty"` // "", "s", "%", "B" or "c"
	Warn  *float64 `json:"warn,omitempty"`
	Crit  *float64 `json:"crit,omitempty"`
	Min   *float64 `json:"min,omitempty"`
	Max   *float64 `json:"max,omitempty"`
}

// Result is the latest outcome of one check.
type Result struct {
	Name    string    `json:"name"`
	State   State     `json:"state"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"` // when the check entered State
	Perf    []Perf    `json:"perf,omitempty"`
}

// Report is the answer of GET /healthz: the overall status (the worst
// state of any check), when the checks ran, and each check. Extra holds
// fields the daemon adds (configuration fingerprint, load time, upstreams,
// …); they are encoded at the top level of the JSON object next to
// "status", "time" and "checks", and decoded back into Extra. An Extra key
// that collides with those three is ignored.
type Report struct {
	Status State
	Time   time.Time
	Checks []Result
	Extra  map[string]any
}

type reportJSON struct {
	Status State     `json:"status"`
	Time   time.Time `json:"time"`
	Checks []Result  `json:"checks"`
}

// MarshalJSON encodes the report as one flat object.
func (r Report) MarshalJSON() ([]byte, error) {
	checks := r.Checks
	if checks == nil {
		checks = []Result{}
	}
	fixed, err := json.Marshal(reportJSON{r.Status, r.Time, checks})
	if err != nil {
		return nil, err
	}
	if len(r.Extra) == 0 {
		return fixed, nil
	}
	m := make(map[string]json.RawMessage, len(r.Extra)+3)
	for k, v := range r.Extra {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("health: extra field %q: %w", k, err)
		}
		m[k] = b
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(fixed, &base); err != nil {
		return nil, err
	}
	for k, v := range base {
		m[k] = v
	}
	return json.Marshal(m)
}

// UnmarshalJSON decodes a flat object; unknown keys go to Extra.
func (r *Report) UnmarshalJSON(b []byte) error {
	var fixed reportJSON
	if err := json.Unmarshal(b, &fixed); err != nil {
		return err
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	delete(all, "status")
	delete(all, "time")
	delete(all, "checks")
	*r = Report{Status: fixed.Status, Time: fixed.Time, Checks: fixed.Checks}
	if len(all) > 0 {
		r.Extra = all
	}
	return nil
}

// Overall returns the worst state of checks; OK when there are none.
func Overall(checks []Result) State {
	s := OK
	for _, c := range checks {
		if c.State.Worse(s) {
			s = c.State
		}
	}
	return s
}

func num(v float64) *float64 { return &v }
