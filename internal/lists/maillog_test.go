package lists

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/posthorn/posthorn/internal/maillog"
)

func TestDecisionEventAndConcurrentDecide(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	f.addMember(t, "ann@example.org", RoleMember, nil)
	var mu sync.Mutex
	var events []maillog.Event
	ml := maillog.New(slog.New(slog.NewTextHandler(io.Discard, nil)), maillog.SinkFunc(func(e maillog.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}))
	chain := NewChain(f.s, ChainOptions{Log: ml})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := memberPost(t)
			if i%2 == 1 {
				p = post(t, "", "From: bob@example.net", "To: "+testList, "Subject: s", "Message-ID: <bob@x>", "", "x")
			}
			chain.Decide(ctx, testList, p)
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 8 {
		t.Fatalf("%d events", len(events))
	}
	var held int
	for _, e := range events {
		if e.Kind != maillog.Decision || e.List != testList {
			t.Fatalf("%+v", e)
		}
		if e.Action == string(Hold) {
			held++
			if e.MessageID != "<bob@x>" || !slices.Equal(e.Rules, []string{RuleNonmemberModeration}) {
				t.Fatalf("%+v", e)
			}
		}
	}
	if held != 4 {
		t.Fatalf("held %d", held)
	}
	rec, err := f.s.RecentDecisions(ctx, testList, 100)
	if err != nil || len(rec) != 8 {
		t.Fatalf("%d recorded, %v", len(rec), err)
	}
}
