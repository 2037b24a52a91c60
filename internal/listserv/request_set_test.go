package listserv

import (
	"context"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

func TestRequestSetDigest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	ctx := context.Background()
	request := lists.CompanionAddress(testList, lists.AddrRequest)
	n := 0
	send := func(from string, lines ...string) string {
		t.Helper()
		n++
		msg := append([]string{"From: " + from, "To: " + request, "Message-ID: <set" + string(rune('a'+n)) + "@example.org>"}, lines...)
		mustOK(t, f.deliver(t, from, []string{request}, msg...))
		ans := f.rec.take()
		if len(ans) != 1 || ans[0].env.Rcpts[0] != from {
			t.Fatalf("answer: %+v", ans)
		}
		return ans[0].body
	}
	mode := func(addr string) lists.DeliveryMode {
		t.Helper()
		m, err := f.db.GetMember(ctx, testList, addr, lists.RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		return m.Mode
	}
	if body := send("ann@example.org", "Subject: set digest on", "", ""); !strings.Contains(body, "now gets digests") || mode("ann@example.org") != lists.ModeDigest {
		t.Fatalf("on: %s / %s", body, mode("ann@example.org"))
	}
	// In the body, Mailman's spelling, among other commands.
	if body := send("bob@example.org", "Subject: commands", "", "help", "SET DIGEST MIME", "end", "set digest off"); !strings.Contains(body, "now gets digests") ||
		mode("bob@example.org") != lists.ModeDigest {
		t.Fatalf("mime: %s", body)
	}
	if body := send("ann@example.org", "Subject: set digest off", "", ""); !strings.Contains(body, "each post") || mode("ann@example.org") != lists.ModeRegular {
		t.Fatalf("off: %s", body)
	}
	for _, c := range []struct{ cmd, want string }{
		{"set digest maybe", "takes on or off"},
		{"set colour blue", "Unknown option"},
		{"set digest", "Unknown option"},
	} {
		if body := send("ann@example.org", "Subject: "+c.cmd, "", ""); !strings.Contains(body, c.want) {
			t.Errorf("%s: %s", c.cmd, body)
		}
	}
	if mode("ann@example.org") != lists.ModeRegular {
		t.Fatal("a bad command changed the mode")
	}
	if body := send("stranger@example.net", "Subject: set digest on", "", ""); !strings.Contains(body, "is not a member") {
		t.Fatalf("stranger: %s", body)
	}
	// A list without digests refuses, and its help does not offer them.
	if body := send("ann@example.org", "Subject: help", "", ""); !strings.Contains(body, "set digest on|off") {
		t.Fatalf("help with digests: %s", body)
	}
	f.settings(t, func(s *lists.Settings) { s.DigestEnabled = false })
	if body := send("ann@example.org", "Subject: set digest on", "", ""); !strings.Contains(body, "does not send digests") || mode("ann@example.org") != lists.ModeRegular {
		t.Fatalf("no digests: %s", body)
	}
	if body := send("ann@example.org", "Subject: help", "", ""); strings.Contains(body, "set digest") {
		t.Fatalf("help without digests: %s", body)
	}
}
