package webui

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestAuditLogPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	// 120 entries of this list, interleaved with entries of another list.
	for i := range 120 {
		f.ui.audit(ctx, AuditEntry{Actor: "owner@example.org", Action: "members.add", List: testList,
			Target: fmt.Sprintf("m%03d@example.net", i), Detail: "<b>1 added</b>"})
		f.ui.audit(ctx, AuditEntry{Actor: "x@example.org", Action: "members.add", List: otherList, Target: "secret-other@example.net"})
	}
	page := lp("audit")
	seen := map[string]bool{}
	for n := 0; page != "" && n < 10; n++ {
		w := f.do(t, viewer(owner), "GET", page, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", page, w.Code)
		}
		body := w.Body.String()
		if strings.Contains(body, "secret-other") {
			t.Fatal("another list's entries are shown")
		}
		if strings.Contains(body, "<b>1 added</b>") {
			t.Fatal("detail not escaped")
		}
		rows := strings.Count(body, `<tr id="audit-`)
		if rows > auditPageSize {
			t.Fatalf("%d rows on one page", rows)
		}
		for i := range 120 {
			if a := fmt.Sprintf("m%03d@example.net", i); strings.Contains(body, ">"+a+"<") {
				if seen[a] {
					t.Errorf("%s on two pages", a)
				}
				seen[a] = true
			}
		}
		page = nextLink(body)
	}
	if len(seen) != 120 {
		t.Errorf("%d of 120 entries reached by paging", len(seen))
	}
	// Newest first on the first page.
	body := f.do(t, viewer(owner), "GET", lp("audit"), nil).Body.String()
	if strings.Index(body, "m119@") > strings.Index(body, "m118@") {
		t.Error("not newest first")
	}
	if strings.Contains(body, "Newest entries") {
		t.Error("the first page links to itself")
	}
}

func TestAuditLogNotWired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.ui.o.AuditLog = nil
	if w := f.do(t, viewer(owner), "GET", lp("audit"), nil); w.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404", w.Code)
	}
	if w := f.do(t, viewer(moderator), "GET", lp("audit"), nil); w.Code != http.StatusForbidden {
		t.Errorf("moderator: status %d, want 403", w.Code)
	}
}

// nextLink returns the href of the page's rel="next" link, "" if none.
func nextLink(body string) string {
	before, _, ok := strings.Cut(body, `rel="next"`)
	if !ok {
		return ""
	}
	i := strings.LastIndex(before, `href="`)
	if i < 0 {
		return ""
	}
	href, _, _ := strings.Cut(before[i+len(`href="`):], `"`)
	return strings.ReplaceAll(href, "&amp;", "&")
}
