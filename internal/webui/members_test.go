package webui

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

// addMany adds n members m00000@example.net... to list in batches.
func addMany(t testing.TB, st *lists.Store, list string, n int) {
	t.Helper()
	for start := 0; start < n; start += 1000 {
		var nms []lists.NewMember
		for i := start; i < min(n, start+1000); i++ {
			nms = append(nms, lists.NewMember{Address: fmt.Sprintf("m%06d@example.net", i), DisplayName: fmt.Sprintf("Member %d", i)})
		}
		res, err := st.AddMembers(context.Background(), list, nms)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
}

func TestMembersPaginationWalksAllPages(t *testing.T) {
	t.Parallel()
	rowAddr := regexp.MustCompile(`<label for="sel-\d+" class="plain">([^<]*)</label>`)
	nextLink := regexp.MustCompile(`<a href="([^"]*)" rel="next">`)
	f := newFixture(t)
	addMany(t, f.st, testList, 1000)
	total, err := f.st.CountMembers(context.Background(), testList, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	target, pages := lp("members"), 0
	for ; target != "" && pages < 100; pages++ {
		w := f.do(t, viewer(owner), "GET", target, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", target, w.Code)
		}
		body := w.Body.String()
		if pages == 0 {
			mustContain(t, body, fmt.Sprintf("%d row(s)", total))
		}
		for _, m := range rowAddr.FindAllStringSubmatch(body, -1) {
			key := html.UnescapeString(m[1])
			if seen[key] {
				t.Fatalf("%s shown twice (page %d)", key, pages)
			}
			seen[key] = true
		}
		target = ""
		if m := nextLink.FindStringSubmatch(body); m != nil {
			target = html.UnescapeString(m[1])
		}
	}
	// 1,000 added plus member, moderator and owner rows of the fixture.
	if len(seen) != total || total != 1003 {
		t.Fatalf("walked %d rows in %d pages, want %d", len(seen), pages, total)
	}
	if pages != (total+pageSize-1)/pageSize {
		t.Errorf("%d pages, want %d", pages, (total+pageSize-1)/pageSize)
	}

	// Search and role filter keep to their rows, and carry into the next link.
	w := f.do(t, viewer(owner), "GET", lp("members?q=m0009&role=member"), nil)
	got := rowAddr.FindAllStringSubmatch(w.Body.String(), -1)
	if len(got) != 50 || nextLink.FindStringSubmatch(w.Body.String()) == nil {
		t.Fatalf("search page: %d rows", len(got))
	}
	next := html.UnescapeString(nextLink.FindStringSubmatch(w.Body.String())[1])
	if !strings.Contains(next, "q=m0009") || !strings.Contains(next, "role=member") {
		t.Errorf("next link %q loses the filter", next)
	}
	w = f.do(t, viewer(owner), "GET", next, nil)
	if n := len(rowAddr.FindAllStringSubmatch(w.Body.String(), -1)); n != 50 {
		t.Errorf("second search page: %d rows, want 50", n)
	}
	w = f.do(t, viewer(owner), "GET", lp("members?role=owner"), nil)
	if got := rowAddr.FindAllStringSubmatch(w.Body.String(), -1); len(got) != 1 || got[0][1] != "owner@example.org" {
		t.Errorf("owner filter: %v", got)
	}
	// A broken cursor falls back to the first page.
	w = f.do(t, viewer(owner), "GET", lp("members?after=%21%21"), nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "no longer valid") {
		t.Errorf("bad cursor: status %d", w.Code)
	}
}

func TestMembersBulkAddRemove(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ow := viewer(owner)
	w := f.do(t, ow, "POST", lp("members/add"), url.Values{"role": {"member"},
		"addresses": {"Ann <ann@example.net>\r\nbob@example.net\r\n\r\nnot an address\r\nmember@example.org\r\n"}})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "Added: 2.", "Already there: 1.", "not an address")
	m, err := f.st.GetMember(context.Background(), testList, "ann@example.net", lists.RoleMember)
	if err != nil || m.DisplayName != "Ann" {
		t.Fatalf("ann: %+v %v", m, err)
	}
	if e := f.lastAudit(); e.Action != "members.add" || !strings.Contains(e.Target, "bob@example.net") {
		t.Errorf("audit %+v", e)
	}
	w = f.do(t, ow, "POST", lp("members/remove"), url.Values{"sel": {"member ann@example.net", "member bob@example.net", "moderator bob@example.net"}})
	mustContain(t, w.Body.String(), "Removed: 2.", "bob@example.net (moderator)")
	n, _ := f.st.CountMembers(context.Background(), testList, lists.RoleMember)
	if n != 1 {
		t.Errorf("%d members left, want 1", n)
	}
}

func TestMembersCSVRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	hold := lists.Hold
	for _, nm := range []lists.NewMember{
		{Address: "=cmd@example.net", DisplayName: "=HYPERLINK(\"http://evil\")"},
		{Address: "comma@example.net", DisplayName: "Doe, Jane \"JD\""},
		{Address: "paused@example.net", Delivery: lists.DeliveryDisabledSelf, Moderation: &hold},
		{Address: "mod2@example.net", Role: lists.RoleModerator},
	} {
		if _, err := f.st.AddMember(ctx, testList, nm); err != nil {
			t.Fatal(err)
		}
	}
	addMany(t, f.st, testList, 1500)
	export := func(list string) []byte {
		t.Helper()
		w := f.do(t, viewer(admin), "GET", listPath(list, "members.csv"), nil)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("export %s: status %d", list, w.Code)
		}
		return w.Body.Bytes()
	}
	out := export(testList)
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+1507 {
		t.Fatalf("%d CSV rows, want %d", len(recs), 1+1507)
	}
	if !slices.Contains(strings.Split(string(out), "\n"), `'=cmd@example.net,"'=HYPERLINK(""http://evil"")",member,enabled,`) {
		t.Errorf("formula cells not neutralised:\n%s", string(out)[:400])
	}

	// Import into an empty list, export again: the same rows.
	const third = "third-l@lists.example.org"
	if _, err := f.st.CreateList(ctx, lists.ListSpec{Address: third, Author: "t"}); err != nil {
		t.Fatal(err)
	}
	w := f.upload(t, viewer(admin), listPath(third, "members/import"), "file", "members.csv", out)
	if w.Code != http.StatusOK {
		t.Fatalf("import: status %d: %s", w.Code, w.Body.String())
	}
	mustContain(t, w.Body.String(), "Imported: 1507.")
	if again := export(third); string(again) != string(out) {
		t.Errorf("round trip differs")
	}
	// Importing the same file again adds nothing.
	w = f.upload(t, viewer(admin), listPath(third, "members/import"), "file", "members.csv", out)
	mustContain(t, w.Body.String(), "Imported: 0.", "Already there: 1507.")
	// A file without a header, in column order, and one with a bad row.
	w = f.upload(t, viewer(admin), listPath(third, "members/import"), "file", "x.csv",
		[]byte("new1@example.net,New One\nnew2@example.net,,member,enabled,sometimes\nbad,,\n"))
	mustContain(t, w.Body.String(), "Imported: 1.", "unknown moderation", "bad")
	if e := f.lastAudit(); e.Action != "members.import" || e.List != third {
		t.Errorf("audit %+v", e)
	}
}
