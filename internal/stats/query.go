package stats

import (
	"context"
	"math"
	"sort"
	"time"
)

// Series is the stored data of a time range, bucketed: bucket i covers the
// minutes [Start+i*Step, Start+(i+1)*Step).
type Series struct {
	Start   time.Time     // start of the first bucket (from, rounded down to Step)
	Step    time.Duration // bucket width, a whole number of minutes
	Buckets int

	Services  []ServiceSeries  // sorted by name; only services with counts in the range
	Queue     []GaugeBucket    // one per bucket
	Upstreams []UpstreamSeries // sorted by name
}

// ServiceSeries holds one service's counts per outcome per bucket.
type ServiceSeries struct {
	Service string
	Counts  map[Outcome][]int // each of length Buckets; every counted outcome present
	Totals  map[Outcome]int   // over the whole range
}

// GaugeBucket summarises the gauge samples of one bucket: the largest queue
// depth and oldest age seen. Samples is 0 when none was taken.
type GaugeBucket struct {
	Samples    int
	QueueDepth int
	OldestAge  time.Duration
}

// UpstreamSeries is one upstream's availability per bucket: the fraction
// of samples that found it up, or NaN when it was not sampled.
type UpstreamSeries struct {
	Upstream string
	Up       []float64
}

// BucketStart returns the start of bucket i.
func (s *Series) BucketStart(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// Total returns the count of outcome o in bucket i over all services.
func (s *Series) Total(o Outcome, i int) int {
	n := 0
	for _, sv := range s.Services {
		n += sv.Counts[o][i]
	}
	return n
}

// Series returns the counts, gauges and upstream availability from from to
// to (both included, to the minute), in buckets of step (rounded to whole
// minutes, at least one). Buckets are aligned to multiples of step since
// the Unix epoch, so a 15-minute step starts on :00, :15, :30 and :45.
func (s *Stats) Series(ctx context.Context, from, to time.Time, step time.Duration) (*Series, error) {
	stepMin := int64(step / time.Minute)
	if stepMin < 1 {
		stepMin = 1
	}
	first := floorDiv(unixMinute(from), stepMin) * stepMin
	last := unixMinute(to)
	if last < first {
		last = first
	}
	n := int((last-first)/stepMin + 1)
	out := &Series{Start: minuteTime(first), Step: time.Duration(stepMin) * time.Minute, Buckets: n,
		Queue: make([]GaugeBucket, n)}

	byService := map[string]*ServiceSeries{}
	rows, err := s.db.QueryContext(ctx, `SELECT (minute - ?) / ?, service, outcome, SUM(count)
		FROM stats_counts WHERE minute >= ? AND minute <= ? GROUP BY 1, 2, 3`, first, stepMin, first, last)
	if err != nil {
		return nil, &Error{Op: "query", Err: err}
	}
	for rows.Next() {
		var b, count int
		var svc, outcome string
		if err := rows.Scan(&b, &svc, &outcome, &count); err != nil {
			rows.Close()
			return nil, &Error{Op: "query", Err: err}
		}
		sv := byService[svc]
		if sv == nil {
			sv = &ServiceSeries{Service: svc, Counts: map[Outcome][]int{}, Totals: map[Outcome]int{}}
			for _, o := range AllOutcomes() {
				sv.Counts[o] = make([]int, n)
			}
			byService[svc] = sv
		}
		if c, ok := sv.Counts[Outcome(outcome)]; ok && b >= 0 && b < n {
			c[b] += count
			sv.Totals[Outcome(outcome)] += count
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	for _, sv := range byService {
		out.Services = append(out.Services, *sv)
	}
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].Service < out.Services[j].Service })

	rows, err = s.db.QueryContext(ctx, `SELECT (minute - ?) / ?, count(*), MAX(queue_depth), MAX(oldest_age_ms)
		FROM stats_gauges WHERE minute >= ? AND minute <= ? GROUP BY 1`, first, stepMin, first, last)
	if err != nil {
		return nil, &Error{Op: "query", Err: err}
	}
	for rows.Next() {
		var b, samples, depth int
		var ageMS int64
		if err := rows.Scan(&b, &samples, &depth, &ageMS); err != nil {
			rows.Close()
			return nil, &Error{Op: "query", Err: err}
		}
		if b >= 0 && b < n {
			out.Queue[b] = GaugeBucket{Samples: samples, QueueDepth: depth, OldestAge: time.Duration(ageMS) * time.Millisecond}
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}

	byUpstream := map[string][]float64{}
	rows, err = s.db.QueryContext(ctx, `SELECT (minute - ?) / ?, upstream, AVG(up)
		FROM stats_upstreams WHERE minute >= ? AND minute <= ? GROUP BY 1, 2`, first, stepMin, first, last)
	if err != nil {
		return nil, &Error{Op: "query", Err: err}
	}
	for rows.Next() {
		var b int
		var name string
		var up float64
		if err := rows.Scan(&b, &name, &up); err != nil {
			rows.Close()
			return nil, &Error{Op: "query", Err: err}
		}
		u := byUpstream[name]
		if u == nil {
			u = make([]float64, n)
			for i := range u {
				u[i] = math.NaN()
			}
			byUpstream[name] = u
		}
		if b >= 0 && b < n {
			u[b] = up
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	for name, up := range byUpstream {
		out.Upstreams = append(out.Upstreams, UpstreamSeries{Upstream: name, Up: up})
	}
	sort.Slice(out.Upstreams, func(i, j int) bool { return out.Upstreams[i].Upstream < out.Upstreams[j].Upstream })
	return out, nil
}

// ServiceActivity is how much a service submitted since a time.
type ServiceActivity struct {
	Service  string
	Messages int       // accepted messages
	First    time.Time // start of the first minute with an accepted message
	Last     time.Time // start of the last minute with an accepted message
}

// ServiceActivity returns, per service that submitted mail since since,
// the number of accepted messages and the first and last minute it did,
// sorted by service name.
func (s *Stats) ServiceActivity(ctx context.Context, since time.Time) ([]ServiceActivity, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT service, SUM(count), MIN(minute), MAX(minute)
		FROM stats_counts WHERE outcome = ? AND minute >= ? AND count > 0 GROUP BY service ORDER BY service`,
		string(Accepted), unixMinute(since))
	if err != nil {
		return nil, &Error{Op: "query", Err: err}
	}
	var out []ServiceActivity
	for rows.Next() {
		var a ServiceActivity
		var first, last int64
		if err := rows.Scan(&a.Service, &a.Messages, &first, &last); err != nil {
			rows.Close()
			return nil, &Error{Op: "query", Err: err}
		}
		a.First, a.Last = minuteTime(first), minuteTime(last)
		out = append(out, a)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	return out, nil
}

// Outcomes returns the number of deliveries, deferrals and bounces (per
// recipient, over all services) since since, to the minute.
func (s *Stats) Outcomes(ctx context.Context, since time.Time) (delivered, deferred, bounced int, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT outcome, SUM(count) FROM stats_counts
		WHERE minute >= ? AND outcome IN (?, ?, ?) GROUP BY outcome`,
		unixMinute(since), string(Delivered), string(Deferred), string(Bounced))
	if err != nil {
		return 0, 0, 0, &Error{Op: "query", Err: err}
	}
	for rows.Next() {
		var o string
		var n int
		if err := rows.Scan(&o, &n); err != nil {
			rows.Close()
			return 0, 0, 0, &Error{Op: "query", Err: err}
		}
		switch Outcome(o) {
		case Delivered:
			delivered = n
		case Deferred:
			deferred = n
		case Bounced:
			bounced = n
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, 0, 0, err
	}
	return delivered, deferred, bounced, nil
}

type rowsCloser interface {
	Err() error
	Close() error
}

func closeRows(rows rowsCloser) error {
	err := rows.Err()
	rows.Close()
	if err != nil {
		return &Error{Op: "query", Err: err}
	}
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
