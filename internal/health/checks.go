package health

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/config"
)

// The check names, in report order.
const (
	CheckOldestQueued     = "oldest_queued"
	CheckAllUpstreamsDown = "all_upstreams_down"
	CheckUpstreamDown     = "upstream_down"
	CheckDeferralRatio    = "deferral_ratio"
	CheckServiceSilent    = "service_silent"
	CheckHeldMessages     = "held_messages"
	CheckConfigDrift      = "config_drift"
	CheckConfigReload     = "config_reload"
)

// evaluate runs every enabled check against in at time now.
func evaluate(ctx context.Context, a config.Alerts, in Inputs, now time.Time) []Result {
	var out []Result
	add := func(r Result, ok bool) {
		if ok {
			out = append(out, r)
		}
	}
	add(oldestQueued(a, in, now))
	add(allUpstreamsDown(a, in, now))
	add(upstreamDown(a, in, now))
	add(deferralRatio(ctx, a, in, now))
	add(serviceSilent(ctx, a, in, now))
	add(heldMessages(ctx, a, in))
	add(configDrift(a, in, now))
	add(configReload(in))
	if in.SpoolWrite != nil {
		add(SpoolWrite(in.SpoolWrite(), time.Hour, now), true)
	}
	return out
}

func oldestQueued(a config.Alerts, in Inputs, now time.Time) (Result, bool) {
	limit := time.Duration(a.OldestQueued)
	if limit <= 0 || in.Queue == nil {
		return Result{}, false
	}
	n, oldest := in.Queue()
	var age time.Duration
	if n > 0 && !oldest.IsZero() && now.After(oldest) {
		age = now.Sub(oldest)
	}
	r := Result{Name: CheckOldestQueued, Perf: []Perf{
		{Label: "queue", Value: float64(n), Min: num(0)},
		{Label: "oldest_age", Value: seconds(age), UOM: "s", Crit: num(seconds(limit)), Min: num(0)},
	}}
	switch {
	case age > limit:
		r.State = Critical
		r.Message = fmt.Sprintf("oldest queued message is %s old (threshold %s); %d queued", human(age), human(limit), n)
	case n == 0:
		r.Message = "queue is empty"
	default:
		r.Message = fmt.Sprintf("%d queued, oldest %s old (threshold %s)", n, human(age), human(limit))
	}
	return r, true
}

func allUpstreamsDown(a config.Alerts, in Inputs, now time.Time) (Result, bool) {
	limit := time.Duration(a.AllUpstreamsDown)
	if limit <= 0 || in.Upstreams == nil {
		return Result{}, false
	}
	ups := in.Upstreams()
	r := Result{Name: CheckAllUpstreamsDown}
	if len(ups) == 0 {
		r.Message = "no upstreams configured (direct delivery)"
		return r, true
	}
	up := 0
	var latest time.Time // all have been down since the last one went down
	var lastErr string
	for _, u := range ups {
		if u.Up {
			up++
			continue
		}
		since := u.DownSince
		if since.IsZero() {
			since = now
		}
		if since.After(latest) {
			latest = since
		}
		if lastErr == "" {
			lastErr = u.LastError
		}
	}
	r.Perf = []Perf{{Label: "upstreams_up", Value: float64(up), Min: num(0), Max: num(float64(len(ups)))}}
	if up > 0 {
		r.Message = fmt.Sprintf("%d/%d upstreams up", up, len(ups))
		return r, true
	}
	down := max(now.Sub(latest), 0)
	r.Message = fmt.Sprintf("all upstreams down (%d/%d) for %s", len(ups), len(ups), human(down))
	if lastErr != "" {
		r.Message += ": " + lastErr
	}
	if down >= limit {
		r.State = Critical
	} else {
		r.Message += fmt.Sprintf(" (alert after %s)", human(limit))
	}
	return r, true
}

func upstreamDown(a config.Alerts, in Inputs, now time.Time) (Result, bool) {
	limit := time.Duration(a.UpstreamDown)
	if limit <= 0 || in.Upstreams == nil {
		return Result{}, false
	}
	ups := in.Upstreams()
	r := Result{Name: CheckUpstreamDown}
	var longest time.Duration
	var over []string
	for _, u := range ups {
		if u.Up || u.DownSince.IsZero() {
			continue
		}
		d := max(now.Sub(u.DownSince), 0)
		longest = max(longest, d)
		if d >= limit {
			s := fmt.Sprintf("upstream %s down for %s", u.Addr, human(d))
			if u.LastError != "" {
				s += " (" + u.LastError + ")"
			}
			over = append(over, s)
		}
	}
	r.Perf = []Perf{{Label: "upstream_down_longest", Value: seconds(longest), UOM: "s",
		Warn: num(seconds(limit)), Min: num(0)}}
	switch {
	case len(over) > 0:
		r.State = Warning
		r.Message = strings.Join(over, "; ") + fmt.Sprintf(" (threshold %s)", human(limit))
	case len(ups) == 0:
		r.Message = "no upstreams configured (direct delivery)"
	case longest > 0:
		r.Message = fmt.Sprintf("an upstream is down for %s (threshold %s)", human(longest), human(limit))
	default:
		r.Message = fmt.Sprintf("all %d upstreams up", len(ups))
	}
	return r, true
}

func deferralRatio(ctx context.Context, a config.Alerts, in Inputs, now time.Time) (Result, bool) {
	if a.DeferralRatio <= 0 || in.Outcomes == nil {
		return Result{}, false
	}
	window := time.Duration(a.DeferralWindow)
	if window <= 0 {
		window = 15 * time.Minute
	}
	r := Result{Name: CheckDeferralRatio}
	delivered, deferred, err := in.Outcomes(ctx, now.Add(-window))
	if err != nil {
		r.State = Unknown
		r.Message = "cannot count delivery outcomes: " + err.Error()
		return r, true
	}
	total := delivered + deferred
	ratio := 0.0
	if total > 0 {
		ratio = float64(deferred) / float64(total)
	}
	r.Perf = []Perf{
		{Label: "deferral_ratio", Value: round(ratio, 3), Warn: num(a.DeferralRatio), Min: num(0), Max: num(1)},
		{Label: "attempts", Value: float64(total), Min: num(0)},
	}
	switch {
	case total < a.DeferralMinimum:
		r.Message = fmt.Sprintf("%d delivery attempts in the last %s, too few to judge (minimum %d)", total, human(window), a.DeferralMinimum)
	case ratio > a.DeferralRatio:
		r.State = Warning
		r.Message = fmt.Sprintf("deferral ratio %.2f over the last %s (%d of %d attempts deferred; threshold %.2f)",
			ratio, human(window), deferred, total, a.DeferralRatio)
	default:
		r.Message = fmt.Sprintf("deferral ratio %.2f over the last %s (%d attempts; threshold %.2f)",
			ratio, human(window), total, a.DeferralRatio)
	}
	return r, true
}

func serviceSilent(ctx context.Context, a config.Alerts, in Inputs, now time.Time) (Result, bool) {
	history := time.Duration(a.SilentHistory)
	if a.SilentFactor <= 0 || history <= 0 || in.ServiceActivity == nil {
		return Result{}, false
	}
	r := Result{Name: CheckServiceSilent}
	acts, err := in.ServiceActivity(ctx, now.Add(-history))
	if err != nil {
		r.State = Unknown
		r.Message = "cannot read service activity: " + err.Error()
		return r, true
	}
	acts = append([]Activity(nil), acts...)
	sort.Slice(acts, func(i, j int) bool { return acts[i].Service < acts[j].Service })
	minimum := max(a.SilentMinimum, 1)
	watched := 0
	var silent []string
	for _, act := range acts {
		if act.Messages < minimum || act.Last.IsZero() {
			continue
		}
		watched++
		gap := history / time.Duration(act.Messages)
		limit := time.Duration(a.SilentFactor * float64(gap))
		if quiet := now.Sub(act.Last); quiet > limit {
			silent = append(silent, fmt.Sprintf("service %s silent for %s (usually every %s; threshold %s)",
				act.Service, human(quiet), human(gap), human(limit)))
		}
	}
	r.Perf = []Perf{
		{Label: "services_silent", Value: float64(len(silent)), Warn: num(0), Min: num(0), Max: num(float64(watched))},
	}
	switch {
	case len(silent) > 0:
		r.State = Warning
		r.Message = strings.Join(silent, "; ")
	case watched == 0:
		r.Message = fmt.Sprintf("no service has sent %d messages in the last %s yet", minimum, human(history))
	default:
		r.Message = fmt.Sprintf("%d services sending as usual", watched)
	}
	return r, true
}

func heldMessages(ctx context.Context, a config.Alerts, in Inputs) (Result, bool) {
	if a.HeldMessages <= 0 {
		return Result{}, false
	}
	r := Result{Name: CheckHeldMessages}
	if in.Held == nil {
		r.Message = "no lists"
		return r, true
	}
	n, err := in.Held(ctx)
	if err != nil {
		r.State = Unknown
		r.Message = "cannot count held posts: " + err.Error()
		return r, true
	}
	r.Perf = []Perf{{Label: "held", Value: float64(n), Warn: num(float64(a.HeldMessages)), Min: num(0)}}
	r.Message = fmt.Sprintf("%d list posts held for moderation (threshold %d)", n, a.HeldMessages)
	if n > a.HeldMessages {
		r.State = Warning
	}
	return r, true
}

func configDrift(a config.Alerts, in Inputs, now time.Time) (Result, bool) {
	limit := time.Duration(a.ConfigDrift)
	if limit <= 0 || in.Drift == nil {
		return Result{}, false
	}
	r := Result{Name: CheckConfigDrift}
	differs, since := in.Drift()
	var d time.Duration
	if differs && !since.IsZero() {
		d = max(now.Sub(since), 0)
	}
	r.Perf = []Perf{{Label: "config_drift", Value: seconds(d), UOM: "s", Warn: num(seconds(limit)), Min: num(0)}}
	switch {
	case !differs:
		r.Message = "running configuration matches the file"
	case d > limit:
		r.State = Warning
		r.Message = fmt.Sprintf("configuration file differs from the running configuration for %s (threshold %s); run posthorn reload",
			human(d), human(limit))
	default:
		r.Message = fmt.Sprintf("configuration file changed %s ago, not applied yet (threshold %s)", human(d), human(limit))
	}
	return r, true
}

func configReload(in Inputs) (Result, bool) {
	if in.ConfigReload == nil {
		return Result{}, false
	}
	r := Result{Name: CheckConfigReload}
	lastErr, at := in.ConfigReload()
	switch {
	case lastErr != "":
		r.State = Warning
		r.Message = fmt.Sprintf("reload at %s failed, previous configuration still running: %s",
			at.UTC().Format(time.RFC3339), lastErr)
	case at.IsZero():
		r.Message = "no reload since start"
	default:
		r.Message = "last reload at " + at.UTC().Format(time.RFC3339) + " succeeded"
	}
	return r, true
}
