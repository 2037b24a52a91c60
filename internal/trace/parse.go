package trace

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the forms ParseTime accepts, the HTML datetime-local
// input's among them.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
}

// TimeError is a time that ParseTime does not understand.
type TimeError struct{ Value string }

func (e *TimeError) Error() string {
	return fmt.Sprintf("cannot read time %q: use 2006-01-02, 2006-01-02 15:04 or RFC 3339", e.Value)
}

// ParseTime reads a point in time as typed on a command line or in the
// trace form. Forms without a zone are in loc.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &TimeError{Value: s}
}

// Details is the event's fields other than time, kind, recipient,
// upstream and reply, as "key value" pairs for a timeline; times in loc.
func (e *Event) Details(loc *time.Location) string {
	var d []string
	add := func(k, v string) {
		if v != "" {
			d = append(d, k+" "+v)
		}
	}
	add("client", e.Client)
	if e.Rcpts > 0 {
		add("rcpts", strconv.Itoa(e.Rcpts))
	}
	if e.Size > 0 {
		add("size", strconv.FormatInt(e.Size, 10))
	}
	add("list", e.List)
	add("stage", e.Stage)
	add("action", e.Action)
	if len(e.Rules) > 0 {
		add("rules", strings.Join(e.Rules, ","))
	}
	if e.Attempts > 0 {
		add("attempt", strconv.Itoa(e.Attempts))
	}
	if e.DelayMS > 0 {
		add("delay", (time.Duration(e.DelayMS) * time.Millisecond).String())
	}
	if !e.Next.IsZero() {
		add("next", e.Next.In(loc).Format(time.RFC3339))
	}
	if e.Maybe {
		d = append(d, "maybe delivered")
	}
	add("notice", e.NoticeID)
	return strings.Join(d, ", ")
}
