package archiveweb

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posthorn/posthorn/internal/testutil"

	"github.com/posthorn/posthorn/internal/web"
)

// TestArchiveInBrowser opens a month by thread and a message (one with an
// HTML body carrying a script) under the site's CSP, as an anonymous
// reader, checks that no script ran, that addresses are obfuscated and
// that the pages fit a phone screen. Screenshots go to $POSTHORN_ARTIFACTS.
func TestArchiveInBrowser(t *testing.T) {
	t.Parallel()
	testutil.Chromium(t) // skip early, before building the fixture
	f := newFixture(t)
	f.thread(t, pubList)
	f.add(t, pubList, post{id: "html@x", subject: "Release notes", date: march(4, 9), mime: "MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<h2>Release 1.2</h2><p>Fixed <b>everything</b>. <script>document.title='pwned'</script>" +
		"<img src=x onerror=\"document.title='pwned'\"><a href=\"https://example.org/notes\">Notes</a></p>\r\n" +
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=notes.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"})

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", web.ContentSecurityPolicy)
		if r.URL.Path == "/static/posthorn.css" {
			w.Header().Set("Content-Type", "text/css")
			_, _ = w.Write(web.Stylesheet())
			return
		}
		f.mux.ServeHTTP(w, r.WithContext(web.WithCSRF(web.WithViewer(r.Context(), nil), testCSRF)))
	}))
	t.Cleanup(srv.Close)

	browser := testutil.Browser(t, 1280, 900)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	dir := testutil.ArtifactDir(t)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The month by thread: replies indented under their parents.
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/archive/"+pubList+"/2024/03/?by=thread"),
		chromedp.WaitVisible(chromedp.CSS(`ul.posts`)),
	)
	if err != nil {
		t.Fatalf("thread page: %v", err)
	}
	indent0, err0 := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('li.d0 a').getBoundingClientRect().left`))
	indent1, err1 := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('li.d1 a').getBoundingClientRect().left`))
	if err0 != nil || err1 != nil {
		t.Fatalf("indentation: %v %v", err0, err1)
	}
	if indent1 <= indent0 {
		t.Errorf("a reply is not indented: %v <= %v", indent1, indent0)
	}
	shot("archive-thread.png")

	// A message with an HTML body: shown sanitised, no script ran.
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/archive/"+pubList+"/6"),
		chromedp.WaitVisible(chromedp.CSS(`div.body.html`)),
	)
	if err != nil {
		t.Fatalf("message page: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`div.body.html`)))
	if err != nil {
		t.Fatal(err)
	}
	from, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`dl.headers dd`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(title, "pwned") || !strings.Contains(text, "Release 1.2") || !strings.Contains(text, "Fixed everything.") {
		t.Errorf("title %q, body %q", title, text)
	}
	if from != "Alice Example <ali… at example.org>" {
		t.Errorf("From shown to an anonymous reader: %q", from)
	}
	shot("archive-message.png")

	// Phone width: no page spills sideways.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"message": "/6", "thread": "/2024/03/?by=thread", "index": "/", "search": "/search?q=deploy"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/archive/"+pubList+path), chromedp.WaitVisible(chromedp.CSS(`main h1`))); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if wide {
			t.Errorf("%s page is wider than a 390px phone screen", name)
		}
		shot("archive-" + name + "-phone.png")
	}
}
