package listserv

import (
	"context"
	"fmt"
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
	if body := send("bob@example.org", "Subject: commands", "", "help", "SET DIGEST MIME", "end", "set digest off"); !strings.Contains(body, "now gets MIME digests") ||
		mode("bob@example.org") != lists.ModeDigest {
		t.Fatalf("mime: %s", body)
	}
	if body := send("ann@example.org", "Subject: set digest off", "", ""); !strings.Contains(body, "each post") || mode("ann@example.org") != lists.ModeRegular {
		t.Fatalf("off: %s", body)
	}
	for _, c := range []struct{ cmd, want string }{
		{"set digest maybe", "takes on, off, plain or mime"},
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
	if body := send("ann@example.org", "Subject: help", "", ""); !strings.Contains(body, "set digest on|off") || !strings.Contains(body, "set digest plain") {
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

// TestRequestSetDigestFormat walks one member through the digest commands:
// each row is a command and the mode and format it leaves.
func TestRequestSetDigestFormat(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	ctx := context.Background()
	request := lists.CompanionAddress(testList, lists.AddrRequest)
	for i, c := range []struct {
		cmd    string
		answer string
		mode   lists.DeliveryMode
		format lists.DigestFormat
	}{
		{"set digest plain", "now gets plain-text digests", lists.ModeDigest, lists.DigestPlain},
		{"set digest off", "each post", lists.ModeRegular, lists.DigestPlain},
		{"set digest on", "now gets digests", lists.ModeDigest, lists.DigestPlain}, // on keeps the chosen form
		{"set digest mime", "now gets MIME digests", lists.ModeDigest, lists.DigestMIME},
		{"set digest TEXT", "plain-text digests", lists.ModeDigest, lists.DigestPlain},
		{"set digest html", "takes on, off, plain or mime", lists.ModeDigest, lists.DigestPlain},
		{"set digest no", "each post", lists.ModeRegular, lists.DigestPlain},
	} {
		id := fmt.Sprintf("<fmt%d@example.org>", i)
		mustOK(t, f.deliver(t, "ann@example.org", []string{request}, "From: ann@example.org", "To: "+request,
			"Subject: "+c.cmd, "Message-ID: "+id, "", ""))
		ans := f.rec.take()
		if len(ans) != 1 || !strings.Contains(ans[0].body, c.answer) {
			t.Fatalf("%s: answer %+v", c.cmd, ans)
		}
		m, err := f.db.GetMember(ctx, testList, "ann@example.org", lists.RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		if m.Mode != c.mode || m.DigestFormat != c.format {
			t.Fatalf("after %q: %s/%s, want %s/%s", c.cmd, m.Mode, m.DigestFormat, c.mode, c.format)
		}
	}
	// A list without digests changes neither mode nor format.
	f.settings(t, func(s *lists.Settings) { s.DigestEnabled = false })
	mustOK(t, f.deliver(t, "ann@example.org", []string{request}, "From: ann@example.org", "To: "+request,
		"Subject: set digest mime", "Message-ID: <fmt-off@example.org>", "", ""))
	if ans := f.rec.take(); len(ans) != 1 || !strings.Contains(ans[0].body, "does not send digests") {
		t.Fatalf("no digests: %+v", ans)
	}
	if m, _ := f.db.GetMember(ctx, testList, "ann@example.org", lists.RoleMember); m.DigestFormat != lists.DigestPlain || m.Mode != lists.ModeRegular {
		t.Fatalf("changed without digests: %s/%s", m.Mode, m.DigestFormat)
	}
}
