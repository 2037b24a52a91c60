package archiveweb

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/posthorn/posthorn/internal/testutil"
)

// TestA11yArchivePages checks every archive page, as an anonymous reader
// and as an owner (who sees the delete form), with the static
// accessibility rules (testutil.CheckA11y).
func TestA11yArchivePages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.thread(t, pubList)
	f.add(t, pubList, post{id: "att@x", subject: "Files", mime: attachmentMIME, date: march(5, 9)})
	mustStatus(t, f.postForm(t, owner, "/archive/"+pubList+"/2/delete", url.Values{"reason": {"personal data"}, "csrf": {testCSRF}}), http.StatusSeeOther)
	base := "/archive/" + pubList
	for _, tc := range []struct {
		name, who, target string
		status            int
	}{
		{"archives", anonymous, "/archive/", http.StatusOK},
		{"archives of a member", member, "/archive/", http.StatusOK},
		{"site search form", anonymous, "/archive/search", http.StatusOK},
		{"site search", member, "/archive/search?q=deploy", http.StatusOK},
		{"months", anonymous, base + "/", http.StatusOK},
		{"empty archive", member, "/archive/" + privList + "/", http.StatusOK},
		{"month by thread", anonymous, base + "/2024/03/?by=thread", http.StatusOK},
		{"month by date", anonymous, base + "/2024/03/?by=date", http.StatusOK},
		{"month by author", anonymous, base + "/2024/03/?by=author", http.StatusOK},
		{"empty month", anonymous, base + "/2023/01/", http.StatusOK},
		{"message", anonymous, base + "/1", http.StatusOK},
		{"message of an owner", owner, base + "/3", http.StatusOK},
		{"message with attachments", anonymous, base + "/6", http.StatusOK},
		{"tombstone", anonymous, base + "/2", http.StatusGone},
		{"list search form", anonymous, base + "/search", http.StatusOK},
		{"list search", anonymous, base + "/search?q=train&since=2024-03-01", http.StatusOK},
		{"list search with a bad date", anonymous, base + "/search?q=train&since=yesterday", http.StatusOK},
		{"unknown message", anonymous, base + "/99", http.StatusNotFound},
	} {
		testutil.CheckA11y(t, tc.name, mustStatus(t, f.get(t, tc.who, tc.target), tc.status))
	}
}
