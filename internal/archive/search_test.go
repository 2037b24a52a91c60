package archive

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSearchWordsAuthorAndDates(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	add(t, a, "dev", msg{id: "1@x", subject: "Build broken", from: "Ann <ann@example.org>", body: "the compiler crashed", date: day(0)})
	add(t, a, "dev", msg{id: "2@x", subject: "Re: Build broken", from: "Bob Builder <bob@example.org>", body: "compiler fixed, café open", date: day(10)})
	add(t, a, "dev", msg{id: "3@x", subject: "Lunch", from: "Bob Builder <bob@example.org>", body: "pizza", date: day(20)})
	add(t, a, "ops", msg{id: "4@x", subject: "compiler upgrade", from: "Ann <ann@example.org>", date: day(0)})

	check := func(q Query, want ...string) {
		t.Helper()
		hits, total, err := a.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hits {
			got = append(got, h.Entry.MessageID)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || total != len(want) {
			t.Errorf("%+v: got %v (total %d); want %v", q, got, total, want)
		}
	}
	check(Query{List: "dev", Words: "compiler"}, "2@x", "1@x")
	check(Query{Words: "compiler"}, "4@x", "2@x", "1@x")
	check(Query{List: "dev", Words: "compiler fixed"}, "2@x")
	check(Query{List: "dev", Words: "cafe"}, "2@x") // diacritics folded
	check(Query{List: "dev", Words: "comp*"}, "2@x", "1@x")
	check(Query{List: "dev", Words: "compiler", From: "bob@example.org"}, "2@x")
	check(Query{List: "dev", From: "builder"}, "3@x", "2@x")
	check(Query{List: "dev", Words: "bob"}, "3@x", "2@x") // author is indexed
	check(Query{List: "dev", Words: "compiler", Since: day(5)}, "2@x")
	check(Query{List: "dev", Words: "compiler", Until: day(5)}, "1@x")
	check(Query{List: "dev", Words: `"compiler OR NEAR(`}) // FTS5 syntax is quoted, not run
	check(Query{List: "dev", Words: "nothing"})

	hits, _, err := a.Search(ctx, Query{List: "dev", Words: "pizza"})
	if err != nil || len(hits) != 1 || !strings.Contains(hits[0].Snippet, SnippetStart+"pizza"+SnippetEnd) {
		t.Fatalf("snippet: %+v %v", hits, err)
	}
	hits, total, err := a.Search(ctx, Query{List: "dev", Words: "compiler", Limit: 1, Offset: 1})
	if err != nil || len(hits) != 1 || total != 2 || hits[0].Entry.MessageID != "1@x" {
		t.Fatalf("paging: %d hits, total %d, %v", len(hits), total, err)
	}
}

func TestDefaultSearchTextDecodesAndSkipsAttachments(t *testing.T) {
	t.Parallel()
	raw := "Subject: =?iso-8859-1?q?R=E9sum=E9?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nna=EFve body\r\n" +
		"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\n\r\nPDFDATA\r\n--b--\r\n"
	got := DefaultSearchText([]byte(raw))
	if !strings.Contains(got, "Résumé") || !strings.Contains(got, "naïve body") || strings.Contains(got, "PDFDATA") {
		t.Fatalf("search text = %q", got)
	}
}

func TestReadListings(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	add(t, a, "dev", msg{id: "1@x", subject: "a", from: "Zed <z@x>", date: time.Date(2024, 2, 28, 0, 0, 0, 0, time.UTC)})
	add(t, a, "dev", msg{id: "2@x", subject: "b", from: "Amy <a@x>", date: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)})
	add(t, a, "dev", msg{id: "3@x", subject: "c", from: "Zed <z@x>", date: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)})
	add(t, a, "dev", msg{id: "4@x", subject: "d", from: "Amy <a@x>", date: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)})
	if err := a.Delete(ctx, "dev", 4, "spam", "mod"); err != nil {
		t.Fatal(err)
	}
	months, err := a.Months(ctx, "dev")
	if err != nil || len(months) != 2 || months[0] != (MonthCount{2024, time.March, 2}) || months[1] != (MonthCount{2024, time.February, 1}) {
		t.Fatalf("months = %+v, %v", months, err)
	}
	es, total, err := a.ByMonth(ctx, "dev", 2024, time.March, Page{})
	if err != nil || total != 2 || len(es) != 2 || es[0].Number != 3 || es[1].Number != 2 {
		t.Fatalf("by month: %d %v", total, err)
	}
	es, _, err = a.ByAuthor(ctx, "dev", 2024, time.March, Page{})
	if err != nil || len(es) != 2 || es[0].FromName != "Amy" {
		t.Fatalf("by author: %v", err)
	}
	latest, err := a.Latest(ctx, "dev", 2)
	if err != nil || len(latest) != 2 || latest[0].Number != 2 || latest[1].Number != 3 {
		t.Fatalf("latest: %v", err)
	}
	e, err := a.GetByPermalink(ctx, "dev", PermalinkFor("3@x"))
	if err != nil || e.Number != 3 || e.FromAddr != "z@x" {
		t.Fatalf("by permalink: %+v %v", e, err)
	}
	var nf *NotFoundError
	if _, err := a.Get(ctx, "dev", 99); !errors.As(err, &nf) {
		t.Fatalf("missing: %v", err)
	}
}
