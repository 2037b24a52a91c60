package dashboard

import (
	"math"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
)

// TestA11yPage checks the dashboard, with traffic and without, with the
// static accessibility rules (testutil.CheckA11y).
func TestA11yPage(t *testing.T) {
	t.Parallel()
	busy := New(twoServices(t).st, liveStatus, fixedNow)
	quiet := New(newTraffic(t).st, func() Live {
		return Live{ConfigFingerprint: "abc", ConfigLoaded: fixedNow(), DriftSince: fixedNow().Add(-time.Hour)}
	}, fixedNow)
	for name, target := range map[string]string{"hour": "/dashboard", "day": "/dashboard?range=day", "week": "/dashboard?range=week"} {
		for what, h := range map[string]http.Handler{"with traffic": busy, "without traffic": quiet} {
			res, body := get(t, h, http.MethodGet, target)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: status %d", name, what, res.StatusCode)
			}
			testutil.CheckA11y(t, name+" "+what, body)
		}
	}
}

// TestA11yChartColours checks that every colour a chart draws data in
// stands out 3:1 from the card it is drawn on (WCAG 2.1 1.4.11, graphical
// objects). The "not sampled" grey is exempt: it stands for no data.
func TestA11yChartColours(t *testing.T) {
	t.Parallel()
	css, err := os.ReadFile("dashboard.css")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`--card:\s*#([0-9a-fA-F]{6})`).FindSubmatch(css)
	if m == nil {
		t.Fatal("dashboard.css has no --card colour")
	}
	card := string(m[1])
	named := map[string]string{
		"delivered": colorDelivered, "deferred": colorDeferred, "bounced": colorBounced,
		"queue": colorQueue, "age": colorAge, "up": colorUp, "partly up": colorPartly, "down": colorDown,
	}
	for i, c := range palette() {
		named["service colour "+strconv.Itoa(i+1)] = c
	}
	for name, c := range named {
		r, err := hexContrast(c, "#"+card)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r < 3 {
			t.Errorf("%s: %s on the card #%s has contrast %.2f:1, want at least 3:1", name, c, card, r)
		}
	}
}

// hexContrast is the WCAG 2.1 contrast ratio of two #rrggbb colours.
func hexContrast(a, b string) (float64, error) {
	lum := func(s string) (float64, error) {
		if len(s) != 7 || s[0] != '#' {
			return 0, strconv.ErrSyntax
		}
		v, err := strconv.ParseUint(s[1:], 16, 32)
		if err != nil {
			return 0, err
		}
		var l float64
		for i, w := range []float64{0.2126, 0.7152, 0.0722} {
			c := float64(v>>(16-8*i)&0xff) / 255
			if c <= 0.04045 {
				c /= 12.92
			} else {
				c = math.Pow((c+0.055)/1.055, 2.4)
			}
			l += w * c
		}
		return l, nil
	}
	la, err := lum(a)
	if err != nil {
		return 0, err
	}
	lb, err := lum(b)
	if err != nil {
		return 0, err
	}
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05), nil
}
