package dashboard

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Chart geometry, in viewBox units. The SVG scales to the page width, so
// these fix proportions and the text size relative to the chart.
const (
	chartW     = 480.0
	chartH     = 220.0
	plotLeft   = 54.0 // room for y tick labels and the axis title
	plotRight  = 14.0
	plotTop    = 14.0
	plotBottom = 34.0 // room for time tick labels
	heatRowH   = 38.0 // one upstream: name line and strip
)

// chart is everything the template needs to draw one SVG chart. A chart
// with Empty set shows that message instead of a plot.
type chart struct {
	ID     string
	Title  string
	Desc   string // the accessible description (and a sentence on the page)
	Empty  string
	W, H   float64
	PX, PY float64 // plot area origin (top left)
	PW, PH float64
	YLabel string
	YTicks []tick
	XTicks []tick
	Groups []group   // bars or lines
	Rows   []heatRow // heat strips (upstream availability)
	Legend []legendItem
}

// tick is an axis tick at Pos (x or y) with its label.
type tick struct {
	Pos   float64
	Label string
}

// group is one series: a set of bars or a line, tagged with what it shows.
type group struct {
	Service  string // data-service: a service's own series
	Series   string // data-series: delivered, deferred, bounced, queue, age
	Label    string
	Color    string
	Bars     []bar
	Line     string // SVG path data
	Area     string // SVG path data for the fill under Line
	Dots     []dot  // lone samples, which a line cannot show
	LineWide bool
}

type bar struct {
	X, Y, W, H float64
	Title      string
	Fill       string // set when the bar's colour is not its group's
}

type dot struct {
	X, Y  float64
	Title string
}

type heatRow struct {
	Upstream string
	LabelY   float64
	Y, H     float64
	Cells    []bar
	Summary  string // availability over the whole range
}

type legendItem struct {
	Label string
	Color string
}

// frame is the time axis shared by all charts of a page.
type frame struct {
	start   time.Time
	step    time.Duration
	buckets int
	loc     *time.Location
	rng     viewRange
}

// cellFormat formats the start of a span of buckets.
func (r viewRange) cellFormat() string {
	if r.name == "week" {
		return "Mon 2 Jan 15:04"
	}
	return "15:04"
}

func (f frame) bucketLabel(i int) string {
	t := f.start.Add(time.Duration(i) * f.step).In(f.loc)
	end := t.Add(f.step)
	if f.rng.name == "week" {
		return t.Format("Mon 2 Jan 15:04") + "–" + end.Format("15:04")
	}
	if f.step == time.Minute {
		return t.Format("15:04")
	}
	return t.Format("15:04") + "–" + end.Format("15:04")
}

// newChart returns an empty chart with the standard plot area.
func newChart(id, title, desc string, f frame) *chart {
	c := &chart{ID: id, Title: title, Desc: desc, W: chartW, H: chartH,
		PX: plotLeft, PY: plotTop, PW: chartW - plotLeft - plotRight, PH: chartH - plotTop - plotBottom}
	c.XTicks = timeTicks(f, c.PX, c.PW)
	return c
}

// YTitleX is the x of the rotated y axis title: minus the plot's middle.
func (c *chart) YTitleX() float64 { return -(c.PY + c.PH/2) }

// slot returns the x and width of bucket i.
func (c *chart) slot(f frame, i int) (x, w float64) {
	w = c.PW / float64(f.buckets)
	return c.PX + float64(i)*w, w
}

// yFor maps v in [0, top] to the plot's y coordinate.
func (c *chart) yFor(v, top float64) float64 {
	return c.PY + c.PH - v/top*c.PH
}

// stack is one layer of a stacked bar chart.
type stack struct {
	service, series, label, color string
	values                        []int
	noun                          string // "accepted", "deferred", ...
}

// stackedBars fills c with one group of bars per layer, stacked per
// bucket in the given order, and the y axis for their sums.
func (c *chart) stackedBars(f frame, layers []stack, yLabel string) {
	maxSum := 0
	for i := range f.buckets {
		sum := 0
		for _, l := range layers {
			sum += l.values[i]
		}
		maxSum = max(maxSum, sum)
	}
	top, ticks := niceScale(float64(maxSum), true)
	c.YLabel = yLabel
	c.YTicks = c.yTicks(top, ticks, intLabel)
	base := make([]float64, f.buckets)
	for _, l := range layers {
		g := group{Service: l.service, Series: l.series, Label: l.label, Color: l.color}
		for i, v := range l.values {
			if v == 0 {
				continue
			}
			x, w := c.slot(f, i)
			gap := math.Min(w*0.18, 2)
			y0 := c.yFor(base[i], top)
			base[i] += float64(v)
			y1 := c.yFor(base[i], top)
			g.Bars = append(g.Bars, bar{X: x + gap/2, Y: y1, W: w - gap, H: y0 - y1,
				Title: l.label + ", " + f.bucketLabel(i) + ": " + strconv.Itoa(v) + " " + l.noun})
		}
		c.Groups = append(c.Groups, g)
	}
}

// gaugeLine fills c with one line through the sampled buckets (gaps where
// none was taken), an area under it, and the y axis. label formats a value
// for the tooltips.
func (c *chart) gaugeLine(f frame, key, label, color string, values []float64, sampled []bool, yLabel string, integer bool, format func(float64) string) {
	maxV := 0.0
	for i, v := range values {
		if sampled[i] {
			maxV = math.Max(maxV, v)
		}
	}
	top, ticks := niceScale(maxV, integer)
	c.YLabel = yLabel
	c.YTicks = c.yTicks(top, ticks, format)
	g := group{Series: key, Label: label, Color: color, LineWide: true}
	var line, area strings.Builder
	base := c.PY + c.PH
	for i := 0; i < f.buckets; {
		if !sampled[i] {
			i++
			continue
		}
		j := i
		for j < f.buckets && sampled[j] {
			j++
		}
		// Bucket centres i..j-1 form one segment.
		for k := i; k < j; k++ {
			x, w := c.slot(f, k)
			x += w / 2
			y := c.yFor(values[k], top)
			cmd := "L"
			if k == i {
				cmd = "M"
				area.WriteString("M" + num(x) + " " + num(base))
			}
			line.WriteString(cmd + num(x) + " " + num(y))
			area.WriteString("L" + num(x) + " " + num(y))
			if j-i == 1 {
				g.Dots = append(g.Dots, dot{X: x, Y: y, Title: f.bucketLabel(k) + ": " + format(values[k])})
			}
			if k == j-1 {
				area.WriteString("L" + num(x) + " " + num(base) + "Z")
			}
		}
		i = j
	}
	g.Line, g.Area = line.String(), area.String()
	c.Groups = append(c.Groups, g)
}

// yTicks places ticks 0, step, ..., top on the y axis.
func (c *chart) yTicks(top float64, n int, label func(float64) string) []tick {
	out := make([]tick, 0, n+1)
	for i := 0; i <= n; i++ {
		v := top * float64(i) / float64(n)
		out = append(out, tick{Pos: c.yFor(v, top), Label: label(v)})
	}
	return out
}

// decLabel formats an axis value with at most two decimals.
func decLabel(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// intLabel formats a count for an axis.
func intLabel(v float64) string { return strconv.Itoa(int(math.Round(v))) }

// niceScale returns an axis top of the form k×{1,2,5}×10^e at or above
// maxV, and how many ticks divide it (at most 5). Integer scales never
// step by less than 1.
func niceScale(maxV float64, integer bool) (top float64, ticks int) {
	if maxV <= 0 {
		return 1, 1
	}
	raw := maxV / 5
	exp := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * exp
	for _, m := range []float64{1, 2, 5} {
		if m*exp >= raw {
			step = m * exp
			break
		}
	}
	if integer && step < 1 {
		step = 1
	}
	ticks = int(math.Ceil(maxV/step - 1e-9))
	if ticks < 1 {
		ticks = 1
	}
	return step * float64(ticks), ticks
}

// timeTicks labels the time axis: every 10 minutes (hour view), 3 hours
// (day) or day (week), at round times in the page's zone.
func timeTicks(f frame, px, pw float64) []tick {
	span := time.Duration(f.buckets) * f.step
	end := f.start.Add(span)
	var out []tick
	first := f.rng.firstTick(f.start.In(f.loc))
	if f.rng.tickEvery < 24*time.Hour {
		// Skip whole ticks up to the start.
		first = first.Add(f.start.Sub(first) / f.rng.tickEvery * f.rng.tickEvery)
	}
	for t, n := first, 0; !t.After(end) && n < 64; t, n = f.rng.nextTick(t), n+1 {
		if t.Before(f.start) {
			continue
		}
		x := px + float64(t.Sub(f.start))/float64(span)*pw
		out = append(out, tick{Pos: x, Label: t.Format(f.rng.tickFormat)})
	}
	return out
}

// num formats a coordinate compactly.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
