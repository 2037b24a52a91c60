package webui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

// route is one handler of the table, with a request that succeeds for a
// viewer who may use it.
type route struct {
	method, path string
	form         url.Values
	upload       []byte // multipart file instead of form
	need         need
	okStatus     int
}

func routes(heldID int64) []route {
	held := strconv.FormatInt(heldID, 10)
	return []route{
		{method: "GET", path: "/lists", need: needPublic, okStatus: 200},
		{method: "GET", path: lp(""), need: needPublic, okStatus: 200},
		{method: "POST", path: lp("subscribe"), form: url.Values{"address": {"new@example.net"}}, need: needPublic, okStatus: 303},
		{method: "POST", path: lp("me"), form: url.Values{"action": {"resume"}}, need: needMember, okStatus: 303},
		{method: "GET", path: lp("settings"), need: needOwner, okStatus: 200},
		{method: "POST", path: lp("settings"), form: url.Values{"max_recipients": {"12"}}, need: needOwner, okStatus: 200},
		{method: "GET", path: lp("history"), need: needOwner, okStatus: 200},
		{method: "POST", path: lp("history/1/restore"), form: url.Values{"reason": {"back"}}, need: needOwner, okStatus: 303},
		{method: "GET", path: lp("members"), need: needOwner, okStatus: 200},
		{method: "GET", path: lp("members.csv"), need: needOwner, okStatus: 200},
		{method: "POST", path: lp("members/add"), form: url.Values{"addresses": {"added@example.net"}}, need: needOwner, okStatus: 200},
		{method: "POST", path: lp("members/remove"), form: url.Values{"sel": {"member nobody@example.net"}}, need: needOwner, okStatus: 200},
		{method: "POST", path: lp("members/import"), upload: []byte("address\nimported@example.net\n"), need: needOwner, okStatus: 200},
		{method: "GET", path: lp("held"), need: needModerator, okStatus: 200},
		{method: "POST", path: lp("held"), form: url.Values{"one": {"defer:" + held}}, need: needModerator, okStatus: 303},
		{method: "GET", path: lp("held/" + held), need: needModerator, okStatus: 200},
		{method: "GET", path: lp("decisions"), need: needModerator, okStatus: 200},
		{method: "GET", path: lp("trace?q=%3Cm%40example.net%3E"), need: needModerator, okStatus: 200},
		{method: "GET", path: lp("audit"), need: needOwner, okStatus: 200},
		{method: "GET", path: lp("requests"), need: needModerator, okStatus: 200},
		{method: "POST", path: lp("requests"), form: url.Values{"one": {"reject:nobody@example.net"}}, need: needModerator, okStatus: 303},
		{method: "GET", path: lp("audit?before=3"), need: needOwner, okStatus: 200},
	}
}

// allowed is the authorization model: who may use a route of need n.
func allowed(who string, n need) bool {
	switch n {
	case needPublic:
		return true
	case needMember:
		return who == member
	case needModerator:
		return who == moderator || who == owner || who == admin
	case needOwner:
		return who == owner || who == admin
	}
	return false
}

func TestAuthorizationEveryRoute(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.hold(t, "stranger@example.net", "Hello", plainMessage)
	for _, rt := range routes(id) {
		for _, who := range []string{anonymous, other, member, moderator, owner, admin} {
			t.Run(rt.method+" "+rt.path+" as "+who, func(t *testing.T) {
				var w interface {
					Result() *http.Response
				}
				if rt.upload != nil {
					w = f.upload(t, viewer(who), rt.path, "file", "m.csv", rt.upload)
				} else {
					w = f.do(t, viewer(who), rt.method, rt.path, rt.form)
				}
				res := w.Result()
				want := http.StatusForbidden
				if allowed(who, rt.need) {
					want = rt.okStatus
				}
				if res.StatusCode != want {
					t.Errorf("status %d, want %d", res.StatusCode, want)
				}
			})
		}
	}
}

func TestMissingListIs404(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, rt := range routes(1) {
		if !strings.HasPrefix(rt.path, lp("")) {
			continue
		}
		path := strings.Replace(rt.path, testList, "nope@lists.example.org", 1)
		for _, who := range []string{anonymous, admin} {
			w := f.do(t, viewer(who), rt.method, path, rt.form)
			if w.Code != http.StatusNotFound {
				t.Errorf("%s %s as %s: status %d, want 404", rt.method, path, who, w.Code)
			}
		}
	}
}

func TestPrivateListHiddenFromStrangers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.ui.o.Private = func(l *lists.List) bool { return l.Address() == testList }
	for who, want := range map[string]int{anonymous: 404, other: 404, member: 200, moderator: 200, admin: 200} {
		if w := f.do(t, viewer(who), "GET", lp(""), nil); w.Code != want {
			t.Errorf("overview as %s: status %d, want %d", who, w.Code, want)
		}
		idx := f.do(t, viewer(who), "GET", "/lists", nil).Body.String()
		if shown := strings.Contains(idx, testList); shown != (want == 200) {
			t.Errorf("index as %s shows the private list: %v", who, shown)
		}
	}
	if w := f.do(t, viewer(other), "GET", lp("held"), nil); w.Code != 404 {
		t.Errorf("held page of a private list as a stranger: %d, want 404", w.Code)
	}
}

func TestForbiddenPageSaysWhy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do(t, viewer(other), "GET", lp("held"), nil)
	if w.Code != http.StatusForbidden {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "You may not see this page of "+testList)
	w = f.do(t, nil, "GET", lp("settings"), nil)
	mustContain(t, w.Body.String(), "Log in first.")
}
