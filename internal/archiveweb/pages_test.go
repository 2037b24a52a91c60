package archiveweb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
)

func march(day, hour int) time.Time { return time.Date(2024, 3, day, hour, 0, 0, 0, time.UTC) }

// thread adds a small thread to list: #1 root, #2 reply to 1, #3 reply to 2,
// #4 a new topic, #5 in April replying to 1.
func (f *fixture) thread(t testing.TB, list string) {
	t.Helper()
	f.add(t, list, post{id: "root@x", subject: "Deploy train", body: "The train leaves at noon.", date: march(1, 10)})
	f.add(t, list, post{id: "r1@x", subject: "Re: Deploy train", irt: "root@x", from: "Bob <bob@example.net>", body: "Bob here, write to bob@example.net.", date: march(2, 10)})
	f.add(t, list, post{id: "r2@x", subject: "Re: Deploy train", irt: "r1@x", body: "Third.", date: march(3, 10)})
	f.add(t, list, post{id: "other@x", subject: "Lunch", from: "carol@example.com", body: "Pizza?", date: march(2, 12)})
	f.add(t, list, post{id: "late@x", subject: "Re: Deploy train", irt: "root@x", body: "April reply.", date: time.Date(2024, 4, 2, 9, 0, 0, 0, time.UTC)})
}

func TestIndexAndMonthViews(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.thread(t, pubList)
	body := mustStatus(t, f.get(t, anonymous, "/archive/"+pubList+"/"), http.StatusOK)
	for _, want := range []string{"5 messages.", "March 2024", "April 2024", `href="/archive/wikitech-l@lists.example.org/2024/03/"`} {
		if !strings.Contains(body, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	checkPage(t, body)

	month := "/archive/" + pubList + "/2024/03/"
	body = mustStatus(t, f.get(t, anonymous, month), http.StatusOK)
	// By date: 1, 2 (reply, indented), 4 (Lunch), 3 (indented twice).
	order := regexp.MustCompile(`<li class="d(\d+)"><a href="/archive/[^"]+/(\d+)"`).FindAllStringSubmatch(body, -1)
	got := ""
	for _, m := range order {
		got += m[2] + ":" + m[1] + " "
	}
	if got != "1:0 2:1 4:0 3:2 " {
		t.Errorf("by date (number:indent) = %q", got)
	}
	if !strings.Contains(body, "Bob") || strings.Contains(body, "bob@example.net") {
		t.Errorf("by date shows an address to an anonymous reader:\n%s", body)
	}
	checkPage(t, body)

	body = mustStatus(t, f.get(t, anonymous, month+"?by=thread"), http.StatusOK)
	got = ""
	for _, m := range regexp.MustCompile(`<li class="d(\d+)"><a href="/archive/[^"]+/(\d+)"`).FindAllStringSubmatch(body, -1) {
		got += m[2] + ":" + m[1] + " "
	}
	if got != "1:0 2:1 3:2 4:0 " || !strings.Contains(body, "4 messages in 2 threads") {
		t.Errorf("by thread = %q\n%s", got, body)
	}

	body = mustStatus(t, f.get(t, anonymous, month+"?by=author"), http.StatusOK)
	headings := regexp.MustCompile(`<h2 class="author">([^<]+)</h2>`).FindAllStringSubmatch(body, -1)
	if len(headings) != 3 || headings[0][1] != "car… at example.com" || headings[1][1] != "Alice Example" || headings[2][1] != "Bob" {
		t.Errorf("by author headings %q", headings)
	}
	checkPage(t, body)

	for _, bad := range []string{"/2024/13/", "/2024/00/", "/abcd/03/", "/2024/03/?by=size"} {
		if w := f.get(t, anonymous, "/archive/"+pubList+bad); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
	if w := f.get(t, anonymous, "/archive/nosuch@lists.example.org/"); w.Code != http.StatusNotFound {
		t.Errorf("unknown list: %d", w.Code)
	}
	// Short name and the list footer's {archive_url} lead to the canonical page.
	if w := f.get(t, anonymous, "/archive/wikitech-l/2024/03/?by=thread"); w.Code != http.StatusMovedPermanently ||
		w.Header().Get("Location") != "/archive/"+pubList+"/2024/03/?by=thread" {
		t.Errorf("short name: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := f.get(t, anonymous, "/lists/"+pubList+"/archive/"); w.Code != http.StatusMovedPermanently ||
		w.Header().Get("Location") != "/archive/"+pubList+"/" {
		t.Errorf("list footer link: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := f.get(t, anonymous, "/archive/"+pubList); w.Code != http.StatusMovedPermanently {
		t.Errorf("no slash: %d", w.Code)
	}
}

func TestMessagePageObfuscatesForAnonymous(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.thread(t, pubList)
	page := "/archive/" + pubList + "/2"
	body := mustStatus(t, f.get(t, anonymous, page), http.StatusOK)
	for _, want := range []string{
		"<dd>Bob &lt;b… at example.net&gt;</dd>", "Re: Deploy train", "2024-03-02 10:00 UTC",
		`<pre class="body">Bob here, write to b… at example.net.`,
		`href="/archive/wikitech-l@lists.example.org/1" rel="prev">‹ Previous by date`,
		`href="/archive/wikitech-l@lists.example.org/4" rel="next">Next by date`,
		`href="/archive/wikitech-l@lists.example.org/1">‹ Previous in thread`,
		`href="/archive/wikitech-l@lists.example.org/3">Next in thread`,
		`<dt>In reply to</dt><dd><a href="/archive/wikitech-l@lists.example.org/1">#1</a>`,
		"https://lists.example.org/archive/wikitech-l@lists.example.org/m/" + archive.PermalinkFor("r1@x"),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("anonymous page lacks %q", want)
		}
	}
	if strings.Contains(body, "bob@example.net") || strings.Contains(body, "Remove this message") {
		t.Errorf("anonymous page shows an address or the delete form:\n%s", body)
	}
	if cc := f.get(t, anonymous, page).Header().Get("Cache-Control"); cc != "public, max-age=60" {
		t.Errorf("anonymous Cache-Control %q", cc)
	}
	checkPage(t, body)

	body = mustStatus(t, f.get(t, member, page), http.StatusOK)
	if !strings.Contains(body, "Bob &lt;bob@example.net&gt;") || !strings.Contains(body, "write to bob@example.net.") {
		t.Errorf("member does not see the address:\n%s", body)
	}
	if strings.Contains(body, "Remove this message") {
		t.Error("member sees the delete form")
	}
	if cc := f.get(t, member, page).Header().Get("Cache-Control"); cc != "" {
		t.Errorf("member page Cache-Control %q (the middleware makes it no-store)", cc)
	}
	if body := mustStatus(t, f.get(t, owner, page), http.StatusOK); !strings.Contains(body, "Remove this message") {
		t.Error("owner has no delete form")
	}
	if body := mustStatus(t, f.get(t, other, page), http.StatusOK); strings.Contains(body, "bob@example.net") {
		t.Error("a member of another list sees the address")
	}

	w := f.get(t, anonymous, "/archive/"+pubList+"/m/"+archive.PermalinkFor("r1@x"))
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != page {
		t.Errorf("permalink: %d %q", w.Code, w.Header().Get("Location"))
	}
	for _, bad := range []string{"/99", "/-1", "/m/0123456789abcdef", "/x"} {
		if w := f.get(t, anonymous, "/archive/"+pubList+bad); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
}

const attachmentMIME = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain\r\n\r\nSee the files.\r\n" +
	"--b1\r\nContent-Type: text/html; name=x.html\r\nContent-Disposition: attachment; filename=\"../../evil.html\"\r\n\r\n<script>alert(1)</script>\r\n" +
	"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n" +
	"--b1\r\nContent-Type: image/svg+xml\r\nContent-Disposition: attachment; filename=\"pic.svg\"\r\n\r\n<svg onload=alert(1)></svg>\r\n" +
	"--b1--\r\n"

func TestAttachmentsAreDownloadsOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.add(t, pubList, post{id: "att@x", subject: "Files", mime: attachmentMIME})
	body := mustStatus(t, f.get(t, anonymous, "/archive/"+pubList+"/1"), http.StatusOK)
	for _, want := range []string{">evil.html</a>", ">report.pdf</a>", ">pic.svg</a>", "See the files."} {
		if !strings.Contains(body, want) {
			t.Errorf("message page lacks %q", want)
		}
	}
	checkPage(t, body)
	cases := []struct {
		index, ctype, name string
	}{
		{"0", "application/octet-stream", "evil.html"},
		{"1", "application/pdf", "report.pdf"},
		{"2", "application/octet-stream", "pic.svg"},
	}
	for _, c := range cases {
		w := f.get(t, anonymous, "/archive/"+pubList+"/1/attachments/"+c.index)
		mustStatus(t, w, http.StatusOK)
		h := w.Header()
		if h.Get("Content-Type") != c.ctype || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Content-Disposition") != `attachment; filename=`+c.name || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("attachment %s headers: %v", c.index, h)
		}
	}
	if got := f.get(t, anonymous, "/archive/"+pubList+"/1/attachments/1").Body.String(); got != "%PDF-1.4\n" {
		t.Errorf("pdf body %q", got)
	}
	for _, bad := range []string{"3", "-1", "x"} {
		if w := f.get(t, anonymous, "/archive/"+pubList+"/1/attachments/"+bad); w.Code != http.StatusNotFound {
			t.Errorf("attachment %s: %d", bad, w.Code)
		}
	}
	if got := safeType("text/plain; charset=iso-8859-1"); got != "text/plain; charset=utf-8" {
		t.Errorf("safeType(text/plain) = %q", got)
	}
	if got := displayName("a\x00b\r\n\"c.txt", 3); got != "abc.txt" {
		t.Errorf("displayName = %q", got)
	}
	if got := displayName(" .. ", 3); got != "attachment-3" {
		t.Errorf("displayName(empty) = %q", got)
	}
}

func TestDeleteLeavesTombstoneWithNeighbours(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.thread(t, pubList)
	del := "/archive/" + pubList + "/2/delete"
	form := url.Values{"reason": {"personal data"}, "csrf": {testCSRF}}
	for _, who := range []string{anonymous, other, member} {
		if w := f.postForm(t, who, del, form); w.Code != http.StatusForbidden {
			t.Errorf("%s deletes: %d", who, w.Code)
		}
	}
	if w := f.postForm(t, owner, del, url.Values{"reason": {" "}}); w.Code != http.StatusBadRequest {
		t.Errorf("no reason: %d", w.Code)
	}
	w := f.postForm(t, owner, del, form)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/archive/"+pubList+"/2" {
		t.Fatalf("owner deletes: %d %q", w.Code, w.Header().Get("Location"))
	}
	body := mustStatus(t, f.get(t, anonymous, "/archive/"+pubList+"/2"), http.StatusGone)
	for _, want := range []string{"Message <strong>2</strong>", "removed on 2026-05-19", "Reason: personal data",
		`href="/archive/wikitech-l@lists.example.org/1" rel="prev"`, `href="/archive/wikitech-l@lists.example.org/4" rel="next"`} {
		if !strings.Contains(body, want) {
			t.Errorf("tombstone lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Bob here") {
		t.Error("tombstone shows the body")
	}
	if w := f.get(t, anonymous, "/archive/"+pubList+"/2/attachments/0"); w.Code != http.StatusGone {
		t.Errorf("attachment of a removed message: %d", w.Code)
	}
	// The month listing marks it; its neighbours still link on.
	if body := f.get(t, anonymous, "/archive/"+pubList+"/2024/03/?by=thread").Body.String(); !strings.Contains(body, "#2 (removed)") {
		t.Errorf("thread view lost the tombstone:\n%s", body)
	}
	if body := f.get(t, anonymous, "/archive/"+pubList+"/3").Body.String(); !strings.Contains(body, `href="/archive/wikitech-l@lists.example.org/4" rel="prev"`) {
		t.Errorf("neighbour of the tombstone:\n%s", body)
	}
	// A site admin may delete too; the number stays.
	mustStatus(t, f.postForm(t, admin, "/archive/"+pubList+"/3/delete", form), http.StatusSeeOther)
	if e, err := f.arch.Get(context.Background(), pubList, 3); err != nil || !e.Deleted || e.DeletedBy != "admin@example.org" {
		t.Errorf("admin delete: %+v %v", e, err)
	}
}

func TestPrivateArchiveAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.thread(t, privList)
	f.add(t, privList, post{id: "att@x", subject: "Files", mime: attachmentMIME, date: march(20, 1)})
	f.add(t, pubList, post{id: "pub@x", subject: "Public deploy notes", body: "deploy", date: march(5, 1)})
	pages := []string{"/", "/2024/03/", "/2024/03/?by=author", "/1", "/6/attachments/1", "/m/" + archive.PermalinkFor("r1@x"),
		"/feed.atom", "/search?q=deploy"}
	for _, p := range pages {
		target := "/archive/" + privList + p
		w := f.get(t, anonymous, target)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape(target) {
			t.Errorf("anonymous %s: %d %q", p, w.Code, w.Header().Get("Location"))
		}
		if w := f.get(t, other, target); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "Deploy train") {
			t.Errorf("other-list member %s: %d", p, w.Code)
		}
		for _, who := range []string{member, admin} {
			if w := f.get(t, who, target); w.Code != http.StatusOK && w.Code != http.StatusMovedPermanently {
				t.Errorf("%s %s: %d", who, p, w.Code)
			}
		}
	}
	if w := f.get(t, anonymous, "/pipermail/internal-l/"); w.Code != http.StatusSeeOther {
		t.Errorf("anonymous pipermail of a private list: %d", w.Code)
	}
	// Site-wide search and the archives index show only what the viewer may read.
	body := mustStatus(t, f.get(t, anonymous, "/archive/search?q=deploy"), http.StatusOK)
	if !strings.Contains(body, "Public deploy notes") || strings.Contains(body, "Deploy train") || strings.Contains(body, privList) {
		t.Errorf("anonymous site search:\n%s", body)
	}
	if w := f.get(t, anonymous, "/archive/search?q=deploy&list="+privList); strings.Contains(w.Body.String(), "Deploy train") {
		t.Error("anonymous searched a private archive by naming it")
	}
	body = mustStatus(t, f.get(t, member, "/archive/search?q=deploy"), http.StatusOK)
	if !strings.Contains(body, "Public deploy notes") || !strings.Contains(body, "Deploy train") {
		t.Errorf("member site search:\n%s", body)
	}
	body = mustStatus(t, f.get(t, other, "/archive/"), http.StatusOK)
	if strings.Contains(body, privList) || !strings.Contains(body, pubList) {
		t.Errorf("archives index for another list's member:\n%s", body)
	}
	if body := f.get(t, admin, "/archive/").Body.String(); !strings.Contains(body, privList) {
		t.Error("site admin does not see the private archive")
	}
	checkPage(t, body)
}

func TestPipermailRedirects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var raws [][]byte
	for i, d := range []time.Time{march(30, 10), march(31, 10), time.Date(2024, 4, 1, 10, 0, 0, 0, time.UTC)} {
		raws = append(raws, post{id: fmt.Sprintf("p%d@x", i), subject: "old", date: d, body: "old post"}.raw())
	}
	if _, err := f.arch.Import(context.Background(), pubList, &sliceSource{msgs: raws}, archive.ImportOptions{KeepNumbers: true}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"/pipermail/wikitech-l/2024-April/000002.html": "/archive/" + pubList + "/2",
		"/pipermail/wikitech-l/2024-March/000000.html": "/archive/" + pubList + "/0",
		"/pipermail/wikitech-l/":                       "/archive/" + pubList + "/",
		"/pipermail/wikitech-l":                        "/archive/" + pubList + "/",
		"/pipermail/wikitech-l/2024-March/":            "/archive/" + pubList + "/2024/03/?by=thread",
		"/pipermail/wikitech-l/2024-March/date.html":   "/archive/" + pubList + "/2024/03/?by=date",
		"/pipermail/wikitech-l/2024-March/author.html": "/archive/" + pubList + "/2024/03/?by=author",
	}
	for from, to := range cases {
		w := f.get(t, anonymous, from)
		if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != to {
			t.Errorf("%s: %d %q, want %q", from, w.Code, w.Header().Get("Location"), to)
		}
	}
	for _, bad := range []string{"/pipermail/wikitech-l/2024-March/000002.html", "/pipermail/wikitech-l/2024-Smarch/000000.html",
		"/pipermail/nosuch/", "/pipermail/wikitech-l/2024-March.txt.gz"} {
		if w := f.get(t, anonymous, bad); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
}

// sliceSource is an archive.Source over raw messages.
type sliceSource struct {
	msgs [][]byte
	i    int
}

func (s *sliceSource) Next() ([]byte, int64, time.Time, error) {
	if s.i >= len(s.msgs) {
		return nil, 0, time.Time{}, io.EOF
	}
	s.i++
	return s.msgs[s.i-1], int64(s.i - 1), time.Time{}, nil
}
