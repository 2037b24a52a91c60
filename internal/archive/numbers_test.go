package archive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestNumbersAreSequentialAndAddIsIdempotent(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	for i := range 3 {
		e := add(t, a, "dev", msg{id: fmt.Sprintf("m%d@x", i), subject: "hello"})
		if e.Number != int64(i+1) {
			t.Fatalf("post %d got number %d", i, e.Number)
		}
		if e.Permalink != PermalinkFor(fmt.Sprintf("m%d@x", i)) || len(e.Permalink) != 16 {
			t.Fatalf("permalink %q", e.Permalink)
		}
	}
	// Same post again, even with CRLF line endings: not added.
	raw := msg{id: "m1@x", subject: "hello"}.raw()
	crlf := []byte(strings.ReplaceAll(string(raw), "\n", "\r\n"))
	e, added, err := a.Add(ctx, "dev", crlf, AddOptions{})
	if err != nil || added || e.Number != 2 {
		t.Fatalf("re-add: %+v added=%v err=%v; want existing number 2", e, added, err)
	}
	// Same Message-ID, other content: added, with its own permalink.
	e, added, err = a.Add(ctx, "dev", msg{id: "m1@x", subject: "hello", body: "edited"}.raw(), AddOptions{})
	if err != nil || !added || e.Number != 4 || e.Permalink == PermalinkFor("m1@x") {
		t.Fatalf("reused id: %+v added=%v err=%v", e, added, err)
	}
	// No Message-ID: idempotent by content.
	e1 := add(t, a, "dev", msg{subject: "no id", body: "x"})
	e2 := add(t, a, "dev", msg{subject: "no id", body: "x"})
	if e1.Number != 5 || e2.Number != 5 {
		t.Fatalf("no-id posts numbered %d and %d; want 5 and 5", e1.Number, e2.Number)
	}
	// Another list has its own sequence.
	if e := add(t, a, "other", msg{id: "m1@x"}); e.Number != 1 {
		t.Fatalf("other list starts at %d", e.Number)
	}
}

func TestDeletionLeavesTombstoneAndNumberIsNotReused(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	add(t, a, "dev", msg{id: "a@x", subject: "one", body: "secret words"})
	last := add(t, a, "dev", msg{id: "b@x", subject: "two"})
	if err := a.Delete(ctx, "dev", last.Number, "posted by mistake", "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "dev", 1, "privacy", "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	e, err := a.Get(ctx, "dev", 2)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Deleted || e.DeletedReason != "posted by mistake" || e.Number != 2 || e.Permalink != last.Permalink || e.Subject != "" {
		t.Fatalf("tombstone = %+v", e)
	}
	var de *DeletedError
	if _, err := a.Raw(ctx, "dev", 2); !errors.As(err, &de) {
		t.Fatalf("Raw of tombstone: %v", err)
	}
	// The deleted newest number is not handed out again.
	if e := add(t, a, "dev", msg{id: "c@x", subject: "three"}); e.Number != 3 {
		t.Fatalf("next post got %d; want 3", e.Number)
	}
	// Re-adding a deleted post does not resurrect it.
	e, added, err := a.Add(ctx, "dev", msg{id: "b@x", subject: "two"}.raw(), AddOptions{})
	if err != nil || added || !e.Deleted {
		t.Fatalf("re-add deleted: %+v added=%v err=%v", e, added, err)
	}
	// Its words are gone from search.
	hits, n, err := a.Search(ctx, Query{List: "dev", Words: "secret"})
	if err != nil || n != 0 || len(hits) != 0 {
		t.Fatalf("search after delete: %d hits, %v", n, err)
	}
	// The number cannot be taken by an import either.
	var nt *NumberTakenError
	if _, _, err := a.Add(ctx, "dev", msg{id: "d@x"}.raw(), AddOptions{KeepNumber: true, Number: 2}); !errors.As(err, &nt) {
		t.Fatalf("keep number of tombstone: %v", err)
	}
}

func TestKeepNumberMovesCounterAbove(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	e, _, err := a.Add(ctx, "dev", msg{id: "a@x"}.raw(), AddOptions{KeepNumber: true, Number: 0})
	if err != nil || e.Number != 0 {
		t.Fatalf("keep 0: %+v %v", e, err)
	}
	if _, _, err := a.Add(ctx, "dev", msg{id: "b@x"}.raw(), AddOptions{KeepNumber: true, Number: 41}); err != nil {
		t.Fatal(err)
	}
	if e := add(t, a, "dev", msg{id: "c@x"}); e.Number != 42 {
		t.Fatalf("next = %d; want 42", e.Number)
	}
	// Keeping a lower free number does not move the counter down.
	if _, _, err := a.Add(ctx, "dev", msg{id: "d@x"}.raw(), AddOptions{KeepNumber: true, Number: 7}); err != nil {
		t.Fatal(err)
	}
	if e := add(t, a, "dev", msg{id: "e@x"}); e.Number != 43 {
		t.Fatalf("next = %d; want 43", e.Number)
	}
}

func TestNumbersSurviveReindexRethreadAndDeletion(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	// Out of order: replies first, then the parent, so threading moves things.
	add(t, a, "dev", msg{id: "r2@x", irt: "r1@x", refs: "<root@x> <r1@x>", subject: "Re: plan"})
	add(t, a, "dev", msg{id: "r1@x", irt: "root@x", refs: "<root@x>", subject: "Re: plan"})
	add(t, a, "dev", msg{id: "root@x", subject: "plan", body: "the plan"})
	add(t, a, "dev", msg{id: "s@x", subject: "Re: plan"})
	before := numbers(t, a, "dev")
	if err := a.Reindex(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	sameNumbers(t, "reindex", before, numbers(t, a, "dev"))
	if err := a.Rethread(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	sameNumbers(t, "rethread", before, numbers(t, a, "dev"))
	if err := a.Delete(ctx, "dev", 2, "", "x"); err != nil {
		t.Fatal(err)
	}
	sameNumbers(t, "delete", before, numbers(t, a, "dev"))
	if err := a.Rethread(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	sameNumbers(t, "rethread after delete", before, numbers(t, a, "dev"))
	hits, _, err := a.Search(ctx, Query{List: "dev", Words: "plan"})
	if err != nil || len(hits) != 3 {
		t.Fatalf("search after reindex: %d hits, %v; want 3 live posts", len(hits), err)
	}
}

func TestConcurrentAddsNeverShareANumber(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	const perWorker = 40
	var wg sync.WaitGroup
	got := make([][]int64, 2)
	errs := make([]error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				e, _, err := a.Add(context.Background(), "dev", msg{id: fmt.Sprintf("w%d-%d@x", w, i), subject: "load"}.raw(), AddOptions{})
				if err != nil {
					errs[w] = err
					return
				}
				got[w] = append(got[w], e.Number)
			}
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for w := range 2 {
		if errs[w] != nil {
			t.Fatal(errs[w])
		}
		for _, n := range got[w] {
			if seen[n] {
				t.Fatalf("number %d given twice", n)
			}
			seen[n] = true
		}
	}
	if len(seen) != 2*perWorker {
		t.Fatalf("%d numbers", len(seen))
	}
}
