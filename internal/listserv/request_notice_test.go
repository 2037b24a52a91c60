package listserv

import (
	"context"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

// TestRequestNoticeLinksRequestsPage: the moderators' notice of a
// subscription request links to the requests page of the current site URL
// (SetSiteURL wins over Options.SiteURL), and has no link without one.
func TestRequestNoticeLinksRequestsPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.add(t, "owner@example.org", lists.RoleOwner, "")
	f.settings(t, func(s *lists.Settings) { s.SubscriptionPolicy = lists.PolicyModerate })
	ctx := context.Background()
	for i, c := range []struct {
		site string // "-": leave Options.SiteURL
		want string
	}{
		{"-", "\n  https://lists.example.org/lists/wikitech-l@lists.example.org/requests\n"},
		{"https://new.example.org/", "\n  https://new.example.org/lists/wikitech-l@lists.example.org/requests\n"},
		{"", ""},
	} {
		if c.site != "-" {
			f.srv.SetSiteURL(c.site)
		}
		addr := string(rune('a'+i)) + "-joiner@example.net"
		if res, err := f.srv.Subscribe(ctx, testList, addr, "web"); err != nil || res.State != lists.PendingApproval {
			t.Fatalf("%s: %+v %v", addr, res, err)
		}
		msgs := to(f.rec.take(), "owner@example.org")
		if len(msgs) != 1 {
			t.Fatalf("%s: %d notices", addr, len(msgs))
		}
		body := strings.ReplaceAll(msgs[0].body, "\r\n", "\n")
		switch {
		case c.want != "" && !strings.Contains(body, c.want):
			t.Errorf("site %q: notice without %q:\n%s", c.site, c.want, body)
		case c.want == "" && (strings.Contains(body, "http") || !strings.Contains(body, "approve or reject the request.")):
			t.Errorf("no site: notice\n%s", body)
		}
	}
}
