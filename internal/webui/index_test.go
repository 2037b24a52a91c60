package webui

import (
	"net/http"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

// TestUnadvertisedList: a list that is not advertised is left out of the
// index for viewers without a role on it, and its overview stays reachable
// by its address unless Options.Private hides it as well (as the daemon
// does).
func TestUnadvertisedList(t *testing.T) {
	t.Parallel()
	for _, daemon := range []bool{false, true} {
		f := newFixture(t)
		f.setSettings(t, testList, func(s *lists.Settings) { s.Advertised = false })
		if daemon {
			f.ui.o.Private = func(l *lists.List) bool { return !l.Settings.Advertised }
		}
		for _, who := range []string{anonymous, other, member, moderator, owner, admin} {
			role := who != anonymous && who != other
			idx := f.do(t, viewer(who), "GET", "/lists", nil)
			if idx.Code != http.StatusOK {
				t.Fatalf("index as %s: status %d", who, idx.Code)
			}
			body := idx.Body.String()
			if shown := strings.Contains(body, testList); shown != role {
				t.Errorf("daemon wiring %v: index as %s shows the unadvertised list: %v", daemon, who, shown)
			}
			if !strings.Contains(body, otherList) {
				t.Errorf("daemon wiring %v: index as %s lacks the advertised list", daemon, who)
			}
			want := http.StatusOK
			if daemon && !role {
				want = http.StatusNotFound
			}
			if w := f.do(t, viewer(who), "GET", lp(""), nil); w.Code != want {
				t.Errorf("daemon wiring %v: overview as %s: status %d, want %d", daemon, who, w.Code, want)
			}
		}
	}
}

func TestIndexShowsRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for who, want := range map[string]string{owner: "owner", moderator: "moderator", member: "member", admin: "site admin"} {
		body := f.do(t, viewer(who), "GET", "/lists", nil).Body.String()
		row, _, _ := strings.Cut(body[strings.Index(body, testList):], "</tr>")
		if !strings.Contains(row, "<td>"+want+"</td>") {
			t.Errorf("index as %s: role column of %s lacks %q: %s", who, testList, want, row)
		}
	}
}

func TestOverviewArchiveLink(t *testing.T) {
	t.Parallel()
	everybody := []string{anonymous, other, member, moderator, owner, admin}
	roles := []string{member, moderator, owner, admin}
	for _, c := range []struct {
		policy lists.ArchivePolicy
		hidden bool // Options.Private says the list is hidden
		see    []string
	}{
		{lists.ArchivePolicyPublic, false, everybody},
		{lists.ArchivePolicyPrivate, false, roles},
		{lists.ArchivePolicyPublic, true, roles},
		{lists.ArchivePolicyNone, false, nil},
	} {
		f := newFixture(t)
		f.setSettings(t, testList, func(s *lists.Settings) { s.ArchivePolicy = c.policy })
		f.ui.o.Private = func(*lists.List) bool { return c.hidden }
		for _, who := range everybody {
			w := f.do(t, viewer(who), "GET", lp(""), nil)
			if w.Code != http.StatusOK {
				if c.hidden && (who == anonymous || who == other) {
					continue // the overview itself is hidden
				}
				t.Fatalf("overview as %s: status %d", who, w.Code)
			}
			shown := strings.Contains(w.Body.String(), `href="/archive/`+testList+`/"`)
			want := false
			for _, s := range c.see {
				want = want || s == who
			}
			if shown != want {
				t.Errorf("archive %s, hidden %v: link shown to %s: %v, want %v", c.policy, c.hidden, who, shown, want)
			}
		}
	}
}
