package listserv

import (
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

func TestFooterOnDistributedPost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	f.settings(t, func(s *lists.Settings) {
		s.Footer = "-- \n{list} <{list_address}>\nLeave: {unsubscribe_url}\nArchive: {archive_url}"
		s.Header = "Posted to {list_name}"
	})
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList},
		postLines("Ann <ann@example.org>", "Deploy tonight", "<f1@example.org>")...))
	msgs := f.rec.take()
	if len(msgs) != 2 {
		t.Fatalf("%d copies", len(msgs))
	}
	want := "Posted to wikitech-l\r\nHello all,\r\nthe deploy is at 20:00.\r\n-- \r\nWikitech <" + testList + ">\r\n" +
		"Leave: mailto:wikitech-l-leave@lists.example.org?subject=unsubscribe\r\n" +
		"Archive: https://lists.example.org/lists/" + testList + "/archive/\r\n"
	for _, m := range msgs {
		if m.body != want {
			t.Errorf("body to %v\n%q\nwant\n%q", m.env.Rcpts, m.body, want)
		}
	}
}
