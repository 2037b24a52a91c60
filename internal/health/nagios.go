package health

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Nagios formats r as a Nagios/Icinga plugin answer: one status line
// "POSTHORN <STATE> - <text> | <perfdata>" and the plugin exit code (0 OK,
// 1 WARNING, 2 CRITICAL, 3 UNKNOWN). The text lists the messages of the
// checks that are not OK, worst first; perfdata carries every check's
// values as 'label'=value[UOM];[warn];[crit];[min];[max].
func Nagios(r Report) (line string, exit int) {
	status := r.Status
	if status < OK || status > Unknown {
		status = Unknown
	}
	bad := make([]Result, 0, len(r.Checks))
	for _, c := range r.Checks {
		if c.State != OK {
			bad = append(bad, c)
		}
	}
	slices.SortStableFunc(bad, func(a, b Result) int { return b.State.severity() - a.State.severity() })
	var text string
	switch {
	case len(bad) > 0:
		msgs := make([]string, len(bad))
		for i, c := range bad {
			msgs[i] = c.Message
		}
		text = strings.Join(msgs, "; ")
	case len(r.Checks) == 0 && status == Unknown:
		text = "no checks have run yet"
	case len(r.Checks) == 1:
		text = r.Checks[0].Message
	default:
		text = fmt.Sprintf("%d checks ok", len(r.Checks))
	}
	var b strings.Builder
	b.WriteString("POSTHORN ")
	b.WriteString(strings.ToUpper(status.String()))
	b.WriteString(" - ")
	b.WriteString(pluginText(text))
	var perf []string
	for _, c := range r.Checks {
		for _, p := range c.Perf {
			perf = append(perf, perfString(p))
		}
	}
	if len(perf) > 0 {
		b.WriteString(" | ")
		b.WriteString(strings.Join(perf, " "))
	}
	return b.String(), int(status)
}

// pluginText keeps text on one line and out of the perfdata.
func pluginText(s string) string {
	return strings.NewReplacer("|", "/", "\r", " ", "\n", " ").Replace(s)
}

// perfString formats one perfdata item, dropping trailing empty fields.
func perfString(p Perf) string {
	label := p.Label
	if strings.ContainsAny(label, " ='") {
		label = "'" + strings.ReplaceAll(label, "'", "''") + "'"
	}
	fields := []string{label + "=" + perfNum(&p.Value) + p.UOM, perfNum(p.Warn), perfNum(p.Crit), perfNum(p.Min), perfNum(p.Max)}
	for len(fields) > 1 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	return strings.Join(fields, ";")
}

func perfNum(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
