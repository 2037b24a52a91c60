package listapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// Decisions paging.
const (
	decisionsPage    = 50
	maxDecisionsPage = 1000
	// recentWindow is what the fallback pager can reach: the newest
	// decisions lists.Store.RecentDecisions returns.
	recentWindow = 1000
)

// decisionJSON is one verdict of the rule chain.
type decisionJSON struct {
	ID        int64  `json:"id"`
	MessageID string `json:"message_id"`
	Poster    string `json:"poster"`
	Member    bool   `json:"member"`
	Action    string `json:"action"`
	// Rule decided ("" when the post passed the whole chain).
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// Hits are the rules that hit; Rules every rule evaluated, in order.
	Hits  []string        `json:"hits"`
	Rules []lists.RuleHit `json:"rules"`
	Error string          `json:"error,omitempty"`
	Time  time.Time       `json:"time"`
}

// decisions answers the list's recent decisions, newest first, paged
// back with before (the id of the last decision of the previous page).
func (a *API) decisions(w http.ResponseWriter, r *http.Request, acc *access) {
	q := r.URL.Query()
	limit := decisionsPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxDecisionsPage {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: want 1 to %d", maxDecisionsPage), "limit")
			return
		}
		limit = n
	}
	var before int64
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, "before: want the id of the last decision of the previous page", "before")
			return
		}
		before = n
	}
	ds, err := a.pageDecisions(r.Context(), acc.List.Address(), before, limit+1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	next := ""
	if len(ds) > limit {
		ds = ds[:limit]
		next = strconv.FormatInt(ds[limit-1].ID, 10)
	}
	out := make([]decisionJSON, len(ds))
	for i, d := range ds {
		out[i] = decisionJSON{ID: d.ID, MessageID: d.MessageID, Poster: d.Poster, Member: d.Member, Action: string(d.Action),
			Rule: d.Rule, Reason: d.Reason, Hits: nonNil(d.Hits()), Rules: d.Rules, Error: d.Err, Time: d.Time.UTC()}
		if out[i].Rules == nil {
			out[i].Rules = []lists.RuleHit{}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"decisions": out, "next": next})
}

// pageDecisions returns up to limit decisions below before (0: the
// newest), through Options.Decisions when set.
func (a *API) pageDecisions(ctx context.Context, list string, before int64, limit int) ([]lists.Decision, error) {
	if a.o.Decisions != nil {
		return a.o.Decisions(ctx, list, before, limit)
	}
	if before == 0 {
		return a.o.Lists.RecentDecisions(ctx, list, min(limit, recentWindow))
	}
	all, err := a.o.Lists.RecentDecisions(ctx, list, recentWindow)
	if err != nil {
		return nil, err
	}
	out := make([]lists.Decision, 0, limit)
	for _, d := range all {
		if d.ID < before && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}
