package route

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/courier"
)

// recorder is a Deliverer that answers per recipient and records calls.
type recorder struct {
	calls [][]string
	fail  string // recipients containing this fail
}

func (r *recorder) Deliver(_ context.Context, m *courier.Message) []courier.Result {
	r.calls = append(r.calls, append([]string(nil), m.Rcpts...))
	out := make([]courier.Result, len(m.Rcpts))
	for i, rc := range m.Rcpts {
		out[i].Rcpt = rc
		if r.fail != "" && strings.Contains(rc, r.fail) {
			out[i].Err = errors.New("refused")
		}
	}
	return out
}

func TestRouterSplitsAndKeepsOrder(t *testing.T) {
	t.Parallel()
	local, remote := &recorder{fail: "nolist"}, &recorder{}
	r := &Router{Local: local, Remote: remote, IsLocal: func(a string) bool { return DomainOf(a) == "lists.example.org" }}
	rcpts := []string{"a@example.net", "wikitech-l@lists.example.org", "b@example.net", "nolist@LISTS.example.org"}
	res := r.Deliver(context.Background(), &courier.Message{ID: "q", Rcpts: rcpts})
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	for i, want := range rcpts {
		if res[i].Rcpt != want {
			t.Errorf("result %d is for %q, want %q", i, res[i].Rcpt, want)
		}
	}
	if res[1].Upstream != LocalLabel || res[1].Err != nil || res[3].Err == nil || res[0].Upstream == LocalLabel {
		t.Errorf("results %+v", res)
	}
	if len(local.calls) != 1 || len(local.calls[0]) != 2 || len(remote.calls) != 1 || len(remote.calls[0]) != 2 {
		t.Errorf("local calls %v, remote calls %v", local.calls, remote.calls)
	}
	// All remote: one call, no local.
	local.calls, remote.calls = nil, nil
	r.Deliver(context.Background(), &courier.Message{Rcpts: []string{"x@example.com"}})
	if len(local.calls) != 0 || len(remote.calls) != 1 {
		t.Errorf("all-remote message: local %v remote %v", local.calls, remote.calls)
	}
}
