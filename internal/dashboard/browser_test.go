package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posthorn/posthorn/internal/testutil"
)

// drawn is what the page reports about one series group.
type drawn struct {
	Key    string  `json:"key"`
	Shapes int     `json:"shapes"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// collectJS lists the drawn series of the page with their rendered size.
const collectJS = `Array.from(document.querySelectorAll('svg.chart g[data-service], svg.chart g[data-series], svg.chart g[data-upstream]')).map(g => {
	const b = g.getBBox();
	const key = (g.closest('section').id) + '/' + (g.dataset.service || g.dataset.series || g.dataset.upstream);
	return {key: key, shapes: g.querySelectorAll('rect, path, circle').length, width: b.width, height: b.height};
})`

func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	testutil.Chromium(t) // skip early, before building the fixture
	tr := twoServices(t)
	mux := http.NewServeMux()
	mux.Handle("GET /dashboard", New(tr.st, liveStatus, fixedNow))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	browser := testutil.Browser(t, 1280, 1000)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/dashboard?range=hour"),
		chromedp.WaitVisible(chromedp.CSS(`#volume svg.chart`)),
	)
	if err != nil {
		t.Fatalf("loading the dashboard in chromium: %v", err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]drawn](collectJS))
	if err != nil {
		t.Fatalf("reading the drawn series: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := testutil.ArtifactDir(t)
	save := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	save("dashboard.png", png)

	byKey := map[string]drawn{}
	for _, d := range got {
		byKey[d.Key] = d
	}
	for _, key := range []string{"volume/gerrit", "volume/sentry", "outcomes/delivered", "outcomes/deferred",
		"outcomes/bounced", "queue/queue", "age/age", "upstreams/mx1.example.org:25", "upstreams/mx2.example.org:25"} {
		d, ok := byKey[key]
		if !ok {
			t.Errorf("%s: no series drawn (have %v)", key, got)
			continue
		}
		if d.Shapes == 0 || d.Width <= 0 || d.Height <= 0 {
			t.Errorf("%s: drawn empty: %+v", key, d)
		}
	}

	// At phone width nothing spills sideways and the series still draw.
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Navigate(srv.URL+"/dashboard?range=day"),
		chromedp.WaitVisible(chromedp.CSS(`#volume svg.chart`)),
	)
	if err != nil {
		t.Fatalf("phone-width view: %v", err)
	}
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	phone, err := chromedp.Run(ctx, chromedp.Evaluate[[]drawn](collectJS))
	if err != nil {
		t.Fatal(err)
	}
	if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatalf("phone screenshot: %v", err)
	}
	save("dashboard-phone.png", png)
	if overflow {
		t.Errorf("page wider than a 390px phone screen")
	}
	seen := map[string]bool{}
	for _, d := range phone {
		if d.Shapes > 0 && d.Width > 0 && d.Height > 0 {
			seen[d.Key] = true
		}
	}
	if !seen["volume/gerrit"] || !seen["volume/sentry"] {
		t.Errorf("phone view: services not drawn: %+v", phone)
	}
}
