package dashboard

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/stats"
)

// page is the template's data.
type page struct {
	Title    string
	Ranges   []rangeLink
	Period   string
	Updated  string
	Live     *liveView
	NoMail   bool
	Services []serviceRow
	All      serviceRow
	Volume   *chart
	Outcomes *chart
	Queue    *chart
	Age      *chart
	Up       *chart
}

type rangeLink struct {
	Name, Title string
	Current     bool
}

type serviceRow struct {
	Name, Color                                      string
	Accepted, Delivered, Deferred, Bounced, Rejected int
}

type liveView struct {
	QueueDepth int
	Oldest     string
	Upstreams  []upstreamView
	Config     string // fingerprint (short) and load time
	Drift      string // since when the file differs; "" when it does not
}

type upstreamView struct {
	Name, Since, LastError string
	Up                     bool
}

// palette colours services in order of their sorted names; each has at
// least 3:1 contrast against the white page.
func palette() []string {
	return []string{"#2f6db5", "#d9731a", "#7b52ae", "#0f8a8a", "#a8488a",
		"#8a6d1c", "#4a5a6a", "#d14d8a", "#2e8540", "#c8363d"}
}

// Outcome colours: green, amber, red.
const (
	colorDelivered = "#2e8540"
	colorDeferred  = "#b77a00"
	colorBounced   = "#c8363d"
	colorQueue     = "#2f6db5"
	colorAge       = "#7b52ae"
	colorUp        = "#2e8540"
	colorPartly    = "#a67c00"
	colorDown      = "#c8363d"
	colorNoSample  = "#e6e9ed"
)

func buildPage(now time.Time, rng viewRange, sr *stats.Series, live *Live) *page {
	loc := now.Location()
	f := frame{start: sr.Start, step: sr.Step, buckets: sr.Buckets, loc: loc, rng: rng}
	end := sr.Start.Add(time.Duration(sr.Buckets) * sr.Step)
	if end.After(now) {
		end = now // the last bucket is still filling
	}
	p := &page{
		Title:   rng.title,
		Period:  period(sr.Start.In(loc), end.In(loc)) + " · bars per " + rng.stepLabel,
		Updated: now.Format("15:04:05 MST"),
	}
	for _, r := range ranges() {
		p.Ranges = append(p.Ranges, rangeLink{Name: r.name, Title: r.title, Current: r.name == rng.name})
	}
	if live != nil {
		p.Live = liveFrom(*live, loc)
	}
	colors := palette()
	var volume []stack
	var totals []string
	for i, sv := range sr.Services {
		row := serviceRow{Name: sv.Service, Color: colors[i%len(colors)],
			Accepted: sv.Totals[stats.Accepted], Delivered: sv.Totals[stats.Delivered],
			Deferred: sv.Totals[stats.Deferred], Bounced: sv.Totals[stats.Bounced], Rejected: sv.Totals[stats.Rejected]}
		p.Services = append(p.Services, row)
		p.All.Accepted += row.Accepted
		p.All.Delivered += row.Delivered
		p.All.Deferred += row.Deferred
		p.All.Bounced += row.Bounced
		p.All.Rejected += row.Rejected
		volume = append(volume, stack{service: sv.Service, label: sv.Service, color: row.Color,
			values: sv.Counts[stats.Accepted], noun: "accepted"})
		totals = append(totals, fmt.Sprintf("%s %d", sv.Service, row.Accepted))
	}
	p.NoMail = len(sr.Services) == 0

	p.Volume = newChart("volume", "Outbound volume per service",
		fmt.Sprintf("Stacked bars of messages accepted from each service per %s. Totals: %s.", rng.stepLabel, strings.Join(totals, ", ")), f)
	for _, s := range p.Services {
		if s.Accepted > 0 {
			p.Volume.Legend = append(p.Volume.Legend, legendItem{s.Name, s.Color})
		}
	}
	switch {
	case p.NoMail:
		p.Volume.Empty = "No mail in this period"
	case p.All.Accepted == 0:
		p.Volume.Empty = "No mail accepted in this period"
	default:
		p.Volume.stackedBars(f, volume, "messages / "+rng.stepLabel)
	}

	outcome := func(o stats.Outcome) []int {
		v := make([]int, sr.Buckets)
		for i := range v {
			v[i] = sr.Total(o, i)
		}
		return v
	}
	p.Outcomes = newChart("outcomes", "Deliveries, deferrals and bounces",
		fmt.Sprintf("Stacked bars of delivery attempts per %s over all services: %d delivered, %d deferred, %d bounced.",
			rng.stepLabel, p.All.Delivered, p.All.Deferred, p.All.Bounced), f)
	p.Outcomes.Legend = []legendItem{{"Delivered", colorDelivered}, {"Deferred", colorDeferred}, {"Bounced", colorBounced}}
	if p.All.Delivered+p.All.Deferred+p.All.Bounced == 0 {
		p.Outcomes.Empty = "No deliveries, deferrals or bounces in this period"
		if p.NoMail {
			p.Outcomes.Empty = "No mail in this period"
		}
		p.Outcomes.Legend = nil
	} else {
		p.Outcomes.stackedBars(f, []stack{
			{series: "delivered", label: "Delivered", color: colorDelivered, values: outcome(stats.Delivered), noun: "delivered"},
			{series: "deferred", label: "Deferred", color: colorDeferred, values: outcome(stats.Deferred), noun: "deferred"},
			{series: "bounced", label: "Bounced", color: colorBounced, values: outcome(stats.Bounced), noun: "bounced"},
		}, "recipients / "+rng.stepLabel)
	}

	p.Queue, p.Age = gaugeCharts(f, sr)
	p.Up = upstreamChart(f, sr)
	return p
}

// gaugeCharts draws the queue depth and the oldest message's age.
func gaugeCharts(f frame, sr *stats.Series) (queue, age *chart) {
	depth := make([]float64, sr.Buckets)
	ages := make([]time.Duration, sr.Buckets)
	sampled := make([]bool, sr.Buckets)
	any := false
	maxDepth, maxAge := 0, time.Duration(0)
	for i, q := range sr.Queue {
		sampled[i] = q.Samples > 0
		any = any || sampled[i]
		depth[i], ages[i] = float64(q.QueueDepth), q.OldestAge
		if sampled[i] {
			maxDepth, maxAge = max(maxDepth, q.QueueDepth), max(maxAge, q.OldestAge)
		}
	}
	queue = newChart("queue", "Queue depth",
		fmt.Sprintf("Line of the number of queued messages, largest sample per %s; peak %d.", f.rng.stepLabel, maxDepth), f)
	age = newChart("age", "Oldest queued message",
		fmt.Sprintf("Line of the age of the oldest queued message, largest sample per %s; peak %s.", f.rng.stepLabel, humanDuration(maxAge)), f)
	if !any {
		queue.Empty = "No queue samples in this period"
		age.Empty = "No queue samples in this period"
		return queue, age
	}
	queue.gaugeLine(f, "queue", "Queued messages", colorQueue, depth, sampled, "messages", true,
		func(v float64) string { return intLabel(v) })
	unit, unitName := ageUnit(maxAge)
	scaled := make([]float64, len(ages))
	for i, a := range ages {
		scaled[i] = float64(a) / float64(unit)
	}
	age.gaugeLine(f, "age", "Oldest message", colorAge, scaled, sampled, "age ("+unitName+")", false,
		decLabel)
	// Tooltips in plain words rather than the axis unit.
	for i := range age.Groups {
		for j := range age.Groups[i].Dots {
			age.Groups[i].Dots[j].Title += " " + unitName
		}
	}
	return queue, age
}

// ageUnit picks the axis unit for ages up to maxAge.
func ageUnit(maxAge time.Duration) (time.Duration, string) {
	switch {
	case maxAge < 2*time.Minute:
		return time.Second, "seconds"
	case maxAge < 2*time.Hour:
		return time.Minute, "minutes"
	case maxAge < 3*24*time.Hour:
		return time.Hour, "hours"
	default:
		return 24 * time.Hour, "days"
	}
}

// upstreamChart draws one strip per upstream, a cell per bucket coloured
// by the share of samples that found it up.
func upstreamChart(f frame, sr *stats.Series) *chart {
	c := newChart("upstreams", "Upstream availability",
		"One strip per upstream relay; each cell is the share of samples that found it up.", f)
	if len(sr.Upstreams) == 0 {
		c.Empty = "No upstream samples in this period"
		return c
	}
	c.PH = float64(len(sr.Upstreams)) * heatRowH
	c.H = c.PY + c.PH + plotBottom
	c.PX, c.PW = 14, chartW-28
	c.XTicks = timeTicks(f, c.PX, c.PW)
	c.Legend = []legendItem{{"Up", colorUp}, {"Partly up", colorPartly}, {"Down", colorDown}, {"Not sampled", colorNoSample}}
	var descs []string
	for r, u := range sr.Upstreams {
		row := heatRow{Upstream: u.Upstream, LabelY: c.PY + float64(r)*heatRowH + 12,
			Y: c.PY + float64(r)*heatRowH + 17, H: heatRowH - 22}
		upSum, samples := 0.0, 0
		// Adjacent buckets in the same state form one cell.
		for i := 0; i < len(u.Up); {
			color, word := upState(u.Up[i])
			j := i + 1
			for j < len(u.Up) {
				if c, _ := upState(u.Up[j]); c != color || color == colorPartly {
					break
				}
				j++
			}
			for _, v := range u.Up[i:j] {
				if !math.IsNaN(v) {
					upSum += v
					samples++
				}
			}
			x0, _ := c.slot(f, i)
			x1, w := c.slot(f, j-1)
			label := f.bucketLabel(i)
			if j-i > 1 {
				label = f.start.Add(time.Duration(i)*f.step).In(f.loc).Format(f.rng.cellFormat()) + "–" +
					f.start.Add(time.Duration(j)*f.step).In(f.loc).Format("15:04")
			}
			row.Cells = append(row.Cells, bar{X: x0, Y: row.Y, W: x1 + w - x0, H: row.H, Fill: color,
				Title: u.Upstream + ", " + label + ": " + word})
			i = j
		}
		if samples > 0 {
			row.Summary = fmt.Sprintf("%.1f%% up", upSum/float64(samples)*100)
		}
		descs = append(descs, u.Upstream+" "+row.Summary)
		c.Rows = append(c.Rows, row)
	}
	c.Desc += " " + strings.Join(descs, ", ") + "."
	return c
}

// period names the page's time span, the date once when it is one day.
func period(from, to time.Time) string {
	if from.YearDay() == to.YearDay() && from.Year() == to.Year() {
		return from.Format("Mon 2 Jan 15:04") + " – " + to.Format("15:04 MST")
	}
	return from.Format("Mon 2 Jan 15:04") + " – " + to.Format("Mon 2 Jan 15:04 MST")
}

// upState is the colour and wording of an availability fraction.
func upState(v float64) (color, word string) {
	switch {
	case math.IsNaN(v):
		return colorNoSample, "not sampled"
	case v >= 0.999:
		return colorUp, "up"
	case v <= 0.001:
		return colorDown, "down"
	default:
		return colorPartly, fmt.Sprintf("up %.0f%% of samples", v*100)
	}
}

func liveFrom(l Live, loc *time.Location) *liveView {
	v := &liveView{QueueDepth: l.QueueDepth, Oldest: humanDuration(l.OldestAge)}
	if fp := l.ConfigFingerprint; fp != "" {
		v.Config = fp[:min(12, len(fp))] + ", loaded " + l.ConfigLoaded.In(loc).Format("Mon 2 Jan 15:04")
	}
	if !l.DriftSince.IsZero() {
		v.Drift = "the file differs since " + l.DriftSince.In(loc).Format("Mon 2 Jan 15:04")
	}
	for _, u := range l.Upstreams {
		uv := upstreamView{Name: u.Name, Up: u.Up, LastError: u.LastError}
		if !u.Up && !u.DownSince.IsZero() {
			uv.Since = u.DownSince.In(loc).Format("Mon 15:04")
		}
		v.Upstreams = append(v.Upstreams, uv)
	}
	return v
}

// humanDuration writes d in at most two units: "45 s", "3 min 20 s",
// "2 h 5 min", "3 d 4 h".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d <= 0:
		return "0 s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return twoUnits(int(d/time.Minute), "min", int(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour:
		return twoUnits(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "min")
	default:
		return twoUnits(int(d/(24*time.Hour)), "d", int(d%(24*time.Hour)/time.Hour), "h")
	}
}

func twoUnits(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d %s", a, au)
	}
	return fmt.Sprintf("%d %s %d %s", a, au, b, bu)
}
