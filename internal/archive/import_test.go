package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func raws(ms ...msg) [][]byte {
	var out [][]byte
	for _, m := range ms {
		out = append(out, m.raw())
	}
	return out
}

func TestImportIsDeterministicIdempotentAndKeepsBrokenMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := raws(
		msg{id: "a@x", subject: "first", date: day(0)},
		msg{subject: "no id", date: day(1)},
		msg{id: "b@x", subject: "=?utf-8?q?caf=C3=A9?=", date: day(2)},
	)
	broken := []byte("this is not a header at all\x00\nno colon here\n\nbody\n")
	src = append(src, broken)
	var reports []ImportReport
	var imported []map[string]int64
	for range 2 {
		a := newTestArchive(t)
		var progress int
		rep, err := a.Import(ctx, "dev", &sliceSource{msgs: src}, ImportOptions{BatchSize: 2,
			Progress: func(ImportProgress) { progress++ }})
		if err != nil {
			t.Fatal(err)
		}
		if progress == 0 {
			t.Error("no progress reported")
		}
		// Same file again: nothing added.
		again, err := a.Import(ctx, "dev", &sliceSource{msgs: src}, ImportOptions{})
		if err != nil || again.Added != 0 || again.Existing != 4 {
			t.Fatalf("second import: %+v, %v", again, err)
		}
		reports = append(reports, rep)
		imported = append(imported, numbers(t, a, "dev"))
		if e, err := a.Get(ctx, "dev", 3); err != nil || e.Subject != "café" {
			t.Fatalf("encoded subject: %+v %v", e, err)
		}
		raw, err := a.Raw(ctx, "dev", 4)
		if err != nil || !bytes.Equal(raw, broken) {
			t.Fatalf("broken message not archived raw: %q %v", raw, err)
		}
	}
	rep := reports[0]
	if rep.Messages != 4 || rep.Added != 4 || len(rep.Unparsed) != 1 || rep.Unparsed[0].Number != 4 {
		t.Fatalf("report = %+v", rep)
	}
	sameNumbers(t, "two imports of one file", imported[0], imported[1])
}

func TestImportKeepNumbersPipermail(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	src := raws(
		msg{id: "a@x", subject: "one", date: time.Date(2015, 3, 31, 23, 0, 0, 0, time.UTC)},
		msg{id: "b@x", subject: "two", date: time.Date(2015, 4, 1, 1, 0, 0, 0, time.UTC)},
		msg{id: "c@x", subject: "three", date: time.Date(2015, 4, 2, 1, 0, 0, 0, time.UTC)},
	)
	rep, err := a.Import(ctx, "wiki-research-l@lists.example.org", &sliceSource{msgs: src}, ImportOptions{KeepNumbers: true})
	if err != nil || rep.Added != 3 {
		t.Fatalf("%+v %v", rep, err)
	}
	for i, want := range []string{
		"/pipermail/wiki-research-l/2015-March/000000.html",
		"/pipermail/wiki-research-l/2015-April/000001.html",
		"/pipermail/wiki-research-l/2015-April/000002.html",
	} {
		n, err := a.LegacyRedirect(ctx, "wiki-research-l@lists.example.org", want+"?x=1")
		if err != nil || n != int64(i) {
			t.Errorf("redirect %s = %d, %v; want %d", want, n, err, i)
		}
	}
	// New posts continue after the imported ones.
	if e := add(t, a, "wiki-research-l@lists.example.org", msg{id: "d@x"}); e.Number != 3 {
		t.Fatalf("next post %d; want 3", e.Number)
	}
	// An mbox with history prepended keeps old numbers; the conflict is reported, not dropped.
	src2 := append(raws(msg{id: "older@x", subject: "zero"}), src...)
	rep, err = a.Import(ctx, "wiki-research-l@lists.example.org", &sliceSource{msgs: src2}, ImportOptions{KeepNumbers: true})
	if err != nil || rep.Added != 1 || len(rep.Conflicts) != 1 || rep.Conflicts[0].Number != 4 {
		t.Fatalf("prepended import: %+v %v", rep, err)
	}
	if e, _ := a.GetByPermalink(ctx, "wiki-research-l@lists.example.org", PermalinkFor("a@x")); e.Number != 0 {
		t.Fatalf("a@x renumbered to %d", e.Number)
	}
}

func TestImportResumesFromCheckpoint(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	var ms []msg
	for i := range 10 {
		ms = append(ms, msg{id: fmt.Sprintf("m%d@x", i), subject: "s", date: day(i)})
	}
	src := &sliceSource{msgs: raws(ms...)}
	stop := errors.New("interrupted")
	failing := &failAfter{src: src, n: 7, err: stop}
	o := ImportOptions{KeepNumbers: true, Checkpoint: "file:123:abc", BatchSize: 3}
	if _, err := a.Import(ctx, "dev", failing, o); !errors.Is(err, stop) {
		t.Fatalf("interrupted import: %v", err)
	}
	off, err := a.ResumeOffset(ctx, o.Checkpoint)
	if err != nil || off <= 0 {
		t.Fatalf("resume offset %d, %v", off, err)
	}
	// Resume by seeking: counting continues, nothing twice.
	src.seekTo(off)
	rep, err := a.Import(ctx, "dev", src, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Messages+1 > 10 || rep.Added+7 != 10 || len(rep.Conflicts) != 0 {
		t.Fatalf("resumed: %+v", rep)
	}
	for i := range 10 {
		e, err := a.GetByPermalink(ctx, "dev", PermalinkFor(fmt.Sprintf("m%d@x", i)))
		if err != nil || e.Number != int64(i) {
			t.Fatalf("m%d: %+v %v", i, e, err)
		}
	}
	// Resume without seeking: the start is skipped unparsed.
	rep, err = a.Import(ctx, "dev", &sliceSource{msgs: raws(ms...)}, o)
	if err != nil || rep.Added != 0 || rep.Skipped == 0 {
		t.Fatalf("re-run: %+v %v", rep, err)
	}
}

// failAfter passes n messages of src, then fails.
type failAfter struct {
	src *sliceSource
	n   int
	err error
}

func (f *failAfter) Next() ([]byte, int64, time.Time, error) {
	if f.n == 0 {
		return nil, 0, time.Time{}, f.err
	}
	f.n--
	return f.src.Next()
}

func TestExportImportRoundTripKeepsNumbersWithGaps(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	for i := range 6 {
		add(t, a, "dev", msg{id: fmt.Sprintf("m%d@x", i), subject: fmt.Sprintf("post %d", i), date: day(i)})
	}
	for _, n := range []int64{2, 4} {
		if err := a.Delete(ctx, "dev", n, "gone", "owner"); err != nil {
			t.Fatal(err)
		}
	}
	var out [][]byte
	var nums []int64
	if err := a.Export(ctx, "dev", time.Time{}, time.Time{}, func(e *Entry, raw []byte) error {
		out = append(out, raw)
		nums = append(nums, e.Number)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(nums) != "[1 3 5 6]" {
		t.Fatalf("exported %v", nums)
	}
	b := newTestArchive(t)
	if _, err := b.Import(ctx, "dev", &sliceSource{msgs: out}, ImportOptions{KeepNumbers: true}); err != nil {
		t.Fatal(err)
	}
	for _, n := range nums {
		orig, _ := a.Get(ctx, "dev", n)
		copy, err := b.Get(ctx, "dev", n)
		if err != nil || copy.Permalink != orig.Permalink {
			t.Errorf("number %d: %+v %v", n, copy, err)
		}
		ra, _ := a.Raw(ctx, "dev", n)
		rb, _ := b.Raw(ctx, "dev", n)
		if !bytes.Equal(ra, rb) {
			t.Errorf("number %d: raw differs after round trip", n)
		}
	}
	// Importing the export back into the original adds nothing.
	rep, err := a.Import(ctx, "dev", &sliceSource{msgs: out}, ImportOptions{KeepNumbers: true})
	if err != nil || rep.Added != 0 {
		t.Fatalf("export into its own archive: %+v %v", rep, err)
	}
	// A date range.
	nums = nil
	if err := a.Export(ctx, "dev", day(2), day(5), func(e *Entry, _ []byte) error { nums = append(nums, e.Number); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(nums) != "[3 5]" {
		t.Fatalf("range exported %v", nums)
	}
}

func TestNumberHeader(t *testing.T) {
	t.Parallel()
	raw := []byte("From: a@x\r\nSubject: s\r\n\r\nX-Posthorn-Archive-Number: 9 in the body\r\n")
	with := WithNumberHeader(raw, 42)
	if !bytes.HasPrefix(with, []byte("X-Posthorn-Archive-Number: 42\r\n")) {
		t.Fatalf("%q", with)
	}
	back, n, ok := StripNumberHeader(with)
	if !ok || n != 42 || !bytes.Equal(back, raw) {
		t.Fatalf("strip: %q %d %v", back, n, ok)
	}
	if _, _, ok := StripNumberHeader(raw); ok {
		t.Fatal("number found in the body")
	}
}

// cancelAfter cancels the import's context after n messages.
type cancelAfter struct {
	src    *sliceSource
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Next() ([]byte, int64, time.Time, error) {
	if c.n--; c.n < 0 {
		c.cancel()
	}
	return c.src.Next()
}

func TestInterruptedImportKeepsWhatWasRead(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	var ms []msg
	for i := range 8 {
		ms = append(ms, msg{id: fmt.Sprintf("m%d@x", i), date: day(i)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := ImportOptions{Checkpoint: "k", BatchSize: 100}
	if _, err := a.Import(ctx, "dev", &cancelAfter{src: &sliceSource{msgs: raws(ms...)}, n: 5, cancel: cancel}, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want canceled", err)
	}
	off, err := a.ResumeOffset(context.Background(), "k")
	if err != nil || off == 0 {
		t.Fatalf("offset %d, %v", off, err)
	}
	if e := numbers(t, a, "dev"); len(e) != 6 {
		t.Fatalf("%d posts kept; want the 6 read before the interruption", len(e))
	}
	src := &sliceSource{msgs: raws(ms...)}
	src.seekTo(off)
	rep, err := a.Import(context.Background(), "dev", src, o)
	if err != nil || rep.Added != 2 {
		t.Fatalf("resume: %+v %v", rep, err)
	}
}
