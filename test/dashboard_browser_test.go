package test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posthorn/posthorn/internal/testutil"
)

// dashboardInBrowser loads the daemon's dashboard in chromium and checks
// that the volume chart draws a visible series for each of the two
// services (gerrit and phabricator), saving a screenshot.
func dashboardInBrowser(t *testing.T, url string) {
	browser := testutil.Browser(t, 1280, 1000)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	type drawn struct {
		Service string  `json:"service"`
		Shapes  int     `json:"shapes"`
		Width   float64 `json:"width"`
		Height  float64 `json:"height"`
	}
	const collect = `Array.from(document.querySelectorAll('svg.chart g[data-service]')).map(g => {
		const b = g.getBBox();
		return {service: g.dataset.service, shapes: g.querySelectorAll('rect, path, circle').length, width: b.width, height: b.height};
	})`
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`svg.chart`))); err != nil {
		t.Fatalf("loading the dashboard: %v", err)
	}
	series, err := chromedp.Run(ctx, chromedp.Evaluate[[]drawn](collect))
	if err != nil {
		t.Fatalf("reading the chart: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	seen := map[string]bool{}
	for _, s := range series {
		if s.Shapes > 0 && s.Width > 0 && s.Height > 0 {
			seen[s.Service] = true
		}
	}
	if !seen["gerrit"] || !seen["phabricator"] {
		t.Errorf("drawn series %+v: want visible shapes for gerrit and phabricator", series)
	}
	if err := os.WriteFile(filepath.Join(testutil.ArtifactDir(t), "daemon-dashboard.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
