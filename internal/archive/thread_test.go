package archive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func places(t *testing.T, a *Archive, list string) map[int64]place {
	t.Helper()
	rows, err := a.db.Query(`SELECT number, thread_id, parent_number, depth FROM archive_messages WHERE list = ?`, list)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]place{}
	for rows.Next() {
		var n int64
		var p place
		if err := rows.Scan(&n, &p.threadID, &p.parent, &p.depth); err != nil {
			t.Fatal(err)
		}
		out[n] = p
	}
	return out
}

func wantPlace(t *testing.T, got map[int64]place, n int64, want place) {
	t.Helper()
	if got[n] != want {
		t.Errorf("post %d: thread %d parent %d depth %d; want thread %d parent %d depth %d",
			n, got[n].threadID, got[n].parent, got[n].depth, want.threadID, want.parent, want.depth)
	}
}

func day(d int) time.Time { return time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, d) }

func TestThreadingMissingParentsLoopsAndSelfReferences(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	add(t, a, "dev", msg{id: "a@x", subject: "root", date: day(0)})                                       // 1
	add(t, a, "dev", msg{id: "c@x", refs: "<a@x> <b-missing@x>", subject: "Re: root", date: day(1)})      // 2: parent b never archived
	add(t, a, "dev", msg{id: "s1@x", irt: "gone@x", subject: "Re: lost", date: day(2)})                   // 3: siblings under a
	add(t, a, "dev", msg{id: "s2@x", irt: "gone@x", subject: "Re: lost", date: day(3)})                   // 4: missing root
	add(t, a, "dev", msg{id: "l1@x", refs: "<l2@x>", subject: "loop one", date: day(4)})                  // 5: l1 and l2 name
	add(t, a, "dev", msg{id: "l2@x", refs: "<l1@x>", subject: "loop two", date: day(5)})                  // 6: each other
	add(t, a, "dev", msg{id: "self@x", refs: "<self@x>", irt: "self@x", subject: "me", date: day(6)})     // 7
	add(t, a, "dev", msg{id: "d@x", refs: "<a@x> <c@x> <a@x>", subject: "Re: root", date: day(7)})        // 8: a twice
	add(t, a, "dev", msg{id: "e@x", refs: "<x1@x> <x2@x> <x1@x> <x2@x>", subject: "cycle", date: day(8)}) // 9
	add(t, a, "dev", msg{id: "c@x", refs: "<a@x>", subject: "Re: root", body: "dup id", date: day(9)})    // 10: duplicate id
	got := places(t, a, "dev")
	wantPlace(t, got, 1, place{1, NoNumber, 0})
	wantPlace(t, got, 2, place{1, 1, 1})
	wantPlace(t, got, 3, place{3, NoNumber, 0})
	wantPlace(t, got, 4, place{3, NoNumber, 0})
	if got[5].threadID != got[6].threadID {
		t.Errorf("loop posts in threads %d and %d", got[5].threadID, got[6].threadID)
	}
	if (got[5].parent == 6) == (got[6].parent == 5) {
		t.Errorf("loop: parents %d and %d; want exactly one the other's child", got[5].parent, got[6].parent)
	}
	wantPlace(t, got, 7, place{7, NoNumber, 0})
	wantPlace(t, got, 8, place{1, 1, 1}) // last reference is a (repeat removed, last occurrence kept)
	wantPlace(t, got, 9, place{9, NoNumber, 0})
	wantPlace(t, got, 10, place{1, 1, 1})

	ths, err := a.Threads(ctx, "dev", day(-1), day(30))
	if err != nil {
		t.Fatal(err)
	}
	var missingRoot bool
	for _, th := range ths {
		if th.ID == 3 {
			missingRoot = th.Root.Entry == nil && len(th.Root.Children) == 2
		}
	}
	if !missingRoot {
		t.Errorf("thread 3 should have a missing root with two replies")
	}
}

func TestThreadingSubjectFallback(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	add(t, a, "dev", msg{id: "p@x", subject: "[dev] Release plan", date: day(0)})      // 1
	add(t, a, "dev", msg{id: "r@x", subject: "Re: [dev] Release plan", date: day(1)})  // 2: no References
	add(t, a, "dev", msg{id: "w@x", subject: "AW: Re[2]: release PLAN", date: day(2)}) // 3
	add(t, a, "dev", msg{id: "f@x", subject: "Fwd: Release plan", date: day(3)})       // 4
	add(t, a, "dev", msg{id: "o@x", subject: "Re: something else", date: day(3)})      // 5
	add(t, a, "dev", msg{id: "n@x", subject: "Release plan", date: day(4)})            // 6: not a reply: own thread
	add(t, a, "dev", msg{id: "late@x", subject: "Re: Release plan", date: day(200)})   // 7: too late for any
	got := places(t, a, "dev")
	wantPlace(t, got, 1, place{1, NoNumber, 0})
	wantPlace(t, got, 2, place{1, 1, 1})
	wantPlace(t, got, 3, place{1, 1, 1})
	wantPlace(t, got, 4, place{1, 1, 1})
	wantPlace(t, got, 5, place{5, NoNumber, 0})
	wantPlace(t, got, 6, place{6, NoNumber, 0})
	wantPlace(t, got, 7, place{7, NoNumber, 0})
	// A reply after the second "Release plan" joins the latest one.
	add(t, a, "dev", msg{id: "r2@x", subject: "RE: Release plan", date: day(5)}) // 8
	wantPlace(t, places(t, a, "dev"), 8, place{6, 6, 1})
}

func TestThreadingLateParentAdoptsReplies(t *testing.T) {
	t.Parallel()
	a := newTestArchive(t)
	ctx := context.Background()
	add(t, a, "dev", msg{id: "c2@x", refs: "<p@x> <c1@x>", subject: "Re: q", date: day(2)}) // 1
	add(t, a, "dev", msg{id: "c1@x", refs: "<p@x>", subject: "Re: q", date: day(1)})        // 2
	got := places(t, a, "dev")
	wantPlace(t, got, 2, place{2, NoNumber, 0})
	wantPlace(t, got, 1, place{2, 2, 1})
	add(t, a, "dev", msg{id: "p@x", subject: "q", date: day(0)}) // 3
	got = places(t, a, "dev")
	wantPlace(t, got, 3, place{3, NoNumber, 0})
	wantPlace(t, got, 2, place{3, 3, 1})
	wantPlace(t, got, 1, place{3, 2, 2})
	n, err := a.Neighbours(ctx, "dev", 2)
	if err != nil {
		t.Fatal(err)
	}
	if n != (Neighbours{PrevDate: 3, NextDate: 1, PrevThread: 3, NextThread: 1}) {
		t.Errorf("neighbours of 2 = %+v", n)
	}
}

// TestIncrementalThreadingMatchesRethread adds a random, tricky set of
// posts in random order and checks that the threads kept up to date post by
// post equal a full Rethread.
func TestIncrementalThreadingMatchesRethread(t *testing.T) {
	t.Parallel()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 7))
			a := newTestArchive(t)
			const n = 120
			var ms []msg
			for i := range n {
				m := msg{id: fmt.Sprintf("m%d@x", i), subject: fmt.Sprintf("topic %d", r.IntN(8)), date: day(r.IntN(90))}
				if i > 0 && r.IntN(4) != 0 {
					p := r.IntN(i + 5) // sometimes a post never archived
					m.refs = fmt.Sprintf("<m%d@x>", p)
					if r.IntN(3) == 0 {
						m.refs = fmt.Sprintf("<m%d@x> %s", r.IntN(n), m.refs) // possibly a loop
					}
					m.subject = "Re: " + m.subject
				} else if r.IntN(3) == 0 {
					m.subject = "Re: " + m.subject // subject-only reply
				}
				if r.IntN(20) == 0 {
					m.id = "" // no Message-ID
				}
				ms = append(ms, m)
			}
			r.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
			for _, m := range ms {
				add(t, a, "dev", m)
			}
			inc := places(t, a, "dev")
			if err := a.Rethread(context.Background(), "dev"); err != nil {
				t.Fatal(err)
			}
			full := places(t, a, "dev")
			for num, p := range full {
				if inc[num] != p {
					t.Errorf("post %d: incremental %+v, full %+v", num, inc[num], p)
				}
			}
		})
	}
}
