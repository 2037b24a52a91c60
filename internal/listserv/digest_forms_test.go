package listserv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// sendDigestNow posts one message and sends a digest; it returns the
// digests by member.
func sendDigestNow(t *testing.T, f *fixture, n int) map[string][]sent {
	t.Helper()
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList},
		postLines("ann@example.org", fmt.Sprintf("Post %d", n), fmt.Sprintf("<v%d@example.org>", n))...))
	f.rec.take()
	if err := f.srv.SendDigest(context.Background(), testList); err != nil {
		t.Fatal(err)
	}
	out := map[string][]sent{}
	for _, m := range f.rec.take() {
		for _, r := range m.env.Rcpts {
			out[r] = append(out[r], m)
		}
	}
	return out
}

func TestDigestVolumesAndIssues(t *testing.T) {
	t.Parallel()
	f := digestFixture(t) // the clock starts on 19 May 2026
	for i, step := range []struct {
		advance       time.Duration
		volume, issue int
	}{
		{0, 1, 1},
		{time.Hour, 1, 2},
		{200 * 24 * time.Hour, 1, 3}, // 5 December 2026
		{30 * 24 * time.Hour, 2, 1},  // 4 January 2027: a new volume
		{24 * time.Hour, 2, 2},
		{365 * 24 * time.Hour, 3, 1},
	} {
		f.clock.Advance(step.advance)
		got := sendDigestNow(t, f, i)
		title := fmt.Sprintf("Wikitech Digest, Vol %d, Issue %d", step.volume, step.issue)
		if len(got["dave@example.org"]) != 1 || len(got["erin@example.org"]) != 1 || len(got) != 2 {
			t.Fatalf("step %d: digests to %v", i, keys(got))
		}
		mimeD, plainD := got["dave@example.org"][0], got["erin@example.org"][0]
		for _, d := range []sent{mimeD, plainD} {
			if s := d.msg.Header.Get("Subject"); s != title {
				t.Errorf("step %d: Subject %q, want %q", i, s, title)
			}
		}
		head := fmt.Sprintf("Volume %d, Issue %d\r\n", step.volume, step.issue)
		if first, _, _ := strings.Cut(plainD.body, "\r\n\r\n"); !strings.HasPrefix(first, "Wikitech Digest ") || !strings.HasSuffix(first+"\r\n", head) {
			t.Errorf("step %d: plain digest first line %q", i, first)
		}
		if !strings.Contains(plainD.body, "\r\nEnd of "+title+"\r\n") {
			t.Errorf("step %d: no end line for %s", i, title)
		}
	}
}

func keys(m map[string][]sent) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDigestFormsPerMember: each digest member gets the form chosen, the
// regular and disabled members none; the two forms are one issue.
func TestDigestFormsPerMember(t *testing.T) {
	t.Parallel()
	f := digestFixture(t)
	ctx := context.Background()
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, attachmentPost("ann@example.org", "Minutes", "<fm1@example.org>")...))
	f.rec.take()
	if err := f.srv.SendDigest(ctx, testList); err != nil {
		t.Fatal(err)
	}
	msgs := f.rec.take()
	for addr, n := range map[string]int{"ann@example.org": 0, "dave@example.org": 1, "erin@example.org": 1, "frank@example.org": 0} {
		if got := len(to(msgs, addr)); got != n {
			t.Errorf("%s got %d digests, want %d", addr, got, n)
		}
	}
	mimeD, plainD := to(msgs, "dave@example.org")[0], to(msgs, "erin@example.org")[0]
	if ct := mimeD.msg.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/mixed") {
		t.Errorf("MIME digest is %s", ct)
	}
	if _, posts := digestParts(t, mimeD); len(posts) != 1 || posts[0].Header.Get("Message-Id") != "<fm1@example.org>" {
		t.Fatalf("MIME digest posts %v", posts)
	}
	if !strings.Contains(mimeD.body, `filename="minutes.pdf"`) || strings.Contains(mimeD.body, "Attachment not included") {
		t.Error("the MIME digest does not carry the post whole")
	}
	if strings.Contains(plainD.body, "Content-Disposition") || !strings.Contains(plainD.body, "Attachment not included in the plain digest: minutes.pdf") {
		t.Errorf("plain digest body:\n%s", plainD.body)
	}
	mid, pid := mimeD.msg.Header.Get("Message-Id"), plainD.msg.Header.Get("Message-Id")
	if pid != plainMessageID(mid) || pid == mid {
		t.Errorf("Message-IDs %s and %s", mid, pid)
	}
	// dave switches to plain, erin back to MIME: the next issue follows.
	if err := f.db.SetDigestFormat(ctx, testList, "dave@example.org", lists.DigestPlain); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetDigestFormat(ctx, testList, "erin@example.org", lists.DigestMIME); err != nil {
		t.Fatal(err)
	}
	got := sendDigestNow(t, f, 2)
	if d := got["dave@example.org"]; len(d) != 1 || d[0].msg.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("dave after switching to plain: %v", d)
	}
	if d := got["erin@example.org"]; len(d) != 1 || !strings.HasPrefix(d[0].msg.Header.Get("Content-Type"), "multipart/mixed") {
		t.Errorf("erin after switching to MIME: %v", d)
	}
}

// TestPlainDigestResume: the plain fan-out fails after the MIME one went
// out; no new issue is numbered meanwhile, and Tick sends the same plain
// digest to the members who had none, and nothing twice.
func TestPlainDigestResume(t *testing.T) {
	t.Parallel()
	f := digestFixture(t)
	ctx := context.Background()
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("ann@example.org", "One", "<r1@example.org>")...))
	f.rec.take()
	f.rec.setFailAt(2) // the MIME copy goes (call 1), the plain one fails
	if err := f.srv.SendDigest(ctx, testList); err == nil {
		t.Fatal("no error from a failed plain digest Submit")
	}
	f.rec.setFailAt(0)
	first := f.rec.take()
	if len(first) != 1 || len(to(first, "dave@example.org")) != 1 {
		t.Fatalf("first attempt: %d messages", len(first))
	}
	mid := first[0].msg.Header.Get("Message-Id")
	// A new post waits; asking for a digest now numbers nothing.
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("ann@example.org", "Two", "<r2@example.org>")...))
	f.rec.take()
	if err := f.srv.SendDigest(ctx, testList); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rec.take()); n != 0 {
		t.Fatalf("%d messages while issue 1 is unfinished", n)
	}
	if err := f.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.rec.take()
	if len(got) != 1 || len(to(got, "erin@example.org")) != 1 {
		t.Fatalf("resumed: %d messages", len(got))
	}
	p := got[0]
	if p.msg.Header.Get("Message-Id") != plainMessageID(mid) || p.msg.Header.Get("Subject") != "Wikitech Digest, Vol 1, Issue 1" ||
		!strings.Contains(p.body, "1. One (") || strings.Contains(p.body, "Two") {
		t.Fatalf("resumed plain digest:\n%s", p.raw)
	}
	if got := sendDigestNow(t, f, 3); len(got["erin@example.org"]) != 1 ||
		got["erin@example.org"][0].msg.Header.Get("Subject") != "Wikitech Digest, Vol 1, Issue 2" {
		t.Fatalf("issue 2: %v", keys(got))
	}
}
