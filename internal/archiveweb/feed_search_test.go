package archiveweb

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
)

// parsedFeed is what the test reads back from the Atom feed.
type parsedFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Author struct {
			Name  string `xml:"name"`
			Email string `xml:"email"`
		} `xml:"author"`
		Summary string `xml:"summary"`
	} `xml:"entry"`
}

func TestAtomFeed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 55 {
		f.add(t, pubList, post{id: fmt.Sprintf("f%d@x", i), subject: fmt.Sprintf("Post %d <&>", i),
			from: "Dana <dana@example.org>", body: fmt.Sprintf("Body %d, mail dana@example.org\x01.", i), date: base.Add(time.Duration(i) * time.Hour)})
	}
	w := f.get(t, anonymous, "/archive/"+pubList+"/feed.atom")
	mustStatus(t, w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var feed parsedFeed
	if err := xml.Unmarshal(w.Body.Bytes(), &feed); err != nil {
		t.Fatalf("feed does not parse: %v\n%s", err, w.Body.String())
	}
	if len(feed.Entries) != 50 || feed.ID != "https://lists.example.org/archive/"+pubList+"/" {
		t.Fatalf("feed: %d entries, id %q", len(feed.Entries), feed.ID)
	}
	e := feed.Entries[0]
	if e.ID != "https://lists.example.org/archive/"+pubList+"/m/"+archive.PermalinkFor("f54@x") ||
		e.Title != "Post 54 <&>" || e.Link.Href != "https://lists.example.org/archive/"+pubList+"/55" ||
		e.Updated != "2024-01-03T06:00:00Z" || feed.Updated != e.Updated {
		t.Errorf("first entry %+v, feed updated %q", e, feed.Updated)
	}
	if e.Author.Name != "Dana" || e.Author.Email != "" || !strings.Contains(e.Summary, "Body 54, mail d… at example.org.") {
		t.Errorf("anonymous entry author %+v, summary %q", e.Author, e.Summary)
	}
	if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
		t.Error(err)
	}
	// Ids are stable: the same in a second fetch, and for a member.
	var again parsedFeed
	if err := xml.Unmarshal(f.get(t, member, "/archive/"+pubList+"/feed.atom").Body.Bytes(), &again); err != nil {
		t.Fatal(err)
	}
	if again.Entries[0].ID != e.ID || again.Entries[0].Author.Email != "dana@example.org" {
		t.Errorf("member feed entry %+v", again.Entries[0])
	}
}

func TestSearchPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.thread(t, pubList)
	f.add(t, pubList, post{id: "x@x", subject: "Payload", body: "deploy <script>alert(1)</script> \x02fake mark and mail erin@example.org", date: march(9, 9)})
	search := "/archive/" + pubList + "/search"
	body := mustStatus(t, f.get(t, anonymous, search+"?q=deploy"), http.StatusOK)
	if !strings.Contains(body, "5 messages found.") || !strings.Contains(body, "<mark>deploy</mark>") {
		t.Errorf("search deploy:\n%s", body)
	}
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") || strings.Contains(body, "erin@example.org") {
		t.Errorf("snippet not escaped or address shown:\n%s", body)
	}
	checkPage(t, body)
	body = mustStatus(t, f.get(t, anonymous, search+"?q=train&from=bob"), http.StatusOK)
	if !strings.Contains(body, "1 messages found.") || !strings.Contains(body, `href="/archive/wikitech-l@lists.example.org/2"`) {
		t.Errorf("search by author:\n%s", body)
	}
	body = mustStatus(t, f.get(t, anonymous, search+"?q=train&since=2024-03-02&until=2024-03-03"), http.StatusOK)
	if !strings.Contains(body, "2 messages found.") || strings.Contains(body, `/archive/wikitech-l@lists.example.org/1"`) {
		t.Errorf("search with dates:\n%s", body)
	}
	body = mustStatus(t, f.get(t, anonymous, search+"?q=train&since=March"), http.StatusOK)
	if !strings.Contains(body, "Dates are written YYYY-MM-DD.") {
		t.Errorf("bad date:\n%s", body)
	}
	body = mustStatus(t, f.get(t, anonymous, search), http.StatusOK)
	if strings.Contains(body, "found") {
		t.Error("empty search ran")
	}
	// FTS syntax in the words is taken literally, not as an error.
	mustStatus(t, f.get(t, anonymous, search+`?q=`+`%22unbalanced+OR+NEAR(`), http.StatusOK)

	got := snippet("a\x02b<i>\x03c\x03\x02d", true)
	if got != "a<mark>b&lt;i&gt;</mark>c<mark>d</mark>" {
		t.Errorf("snippet = %q", got)
	}
}

func TestSearchPaging(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 45 {
		f.add(t, pubList, post{id: fmt.Sprintf("s%d@x", i), subject: "Weekly report", body: "report", date: march(1, 0).Add(time.Duration(i) * time.Hour)})
	}
	body := mustStatus(t, f.get(t, anonymous, "/archive/"+pubList+"/search?q=report"), http.StatusOK)
	if !strings.Contains(body, "45 messages found.") || !strings.Contains(body, "page=2") || strings.Contains(body, `rel="prev"`) {
		t.Errorf("page 1:\n%s", body)
	}
	body = mustStatus(t, f.get(t, anonymous, "/archive/"+pubList+"/search?q=report&page=3"), http.StatusOK)
	if strings.Count(body, `<span class="by">`) != 5 || strings.Contains(body, `rel="next"`) || !strings.Contains(body, "page=2") {
		t.Errorf("page 3:\n%s", body)
	}
	// Site-wide over several lists merges the per-list results.
	for i := range 3 {
		f.add(t, "other-l@lists.example.org", post{id: fmt.Sprintf("o%d@x", i), subject: "Other report", body: "report", date: march(2, i)})
	}
	body = mustStatus(t, f.get(t, anonymous, "/archive/search?q=report"), http.StatusOK)
	if !strings.Contains(body, "48 messages found.") {
		t.Errorf("site search:\n%s", body)
	}
	body = mustStatus(t, f.get(t, anonymous, "/archive/search?q=report&list=other-l@lists.example.org"), http.StatusOK)
	if !strings.Contains(body, "3 messages found.") {
		t.Errorf("site search with a list:\n%s", body)
	}
}
