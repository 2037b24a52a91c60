package lists

import (
	"context"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/store"
)

// Warning kinds.
const (
	// WarnMemberPost: a plain post from a member would not be distributed.
	WarnMemberPost = "member-post"
	// WarnNonmemberPost: a post from anybody would now be distributed.
	WarnNonmemberPost = "nonmember-post"
	// WarnDelivery: accepted posts would reach no member.
	WarnDelivery = "delivery"
)

// Warning is a consequence of a settings change that needs confirmation.
type Warning struct {
	Kind   string `json:"kind"`
	Poster string `json:"poster,omitempty"`
	Action Action `json:"action,omitempty"`
	// Rule is the rule that decided (for record-only holds, the rules that hit).
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Already is set when the current settings already do the same.
	Already bool   `json:"already"`
	Message string `json:"message"`
}

func (w Warning) String() string { return w.Message }

// NeedsConfirmation is returned by ChangeSettings and Restore when the
// change has warnings and was not confirmed; nothing was written.
type NeedsConfirmation struct {
	List     string
	Warnings []Warning
}

func (e *NeedsConfirmation) Error() string {
	msgs := make([]string, len(e.Warnings))
	for i, w := range e.Warnings {
		msgs[i] = w.Message
	}
	return fmt.Sprintf("lists: settings change to %s needs confirmation: %s", e.List, strings.Join(msgs, "; "))
}

// Addresses of the simulated posters; .invalid never exists (RFC 2606).
const (
	checkMember    = "member-check@posthorn.invalid"
	checkNonmember = "nonmember-check@posthorn.invalid"
	// checkPostSize is the size of the simulated plain post: a short text
	// with the usual trace fields and a signature.
	checkPostSize = 10 << 10
)

// CheckSettings simulates, with the posting chain (Chain.Evaluate), a plain
// post to list under set from a member (a synthetic one, and the first
// enabled member when there is one) and from a non-member, and reports what
// would go wrong: a member's post held, rejected or discarded, posts from
// anybody newly distributed, or no member left to deliver to. The
// simulation runs on a private in-memory copy of the list, so it writes
// nothing and evaluates exactly the chain the daemon runs.
func (s *Store) CheckSettings(ctx context.Context, list string, set Settings) ([]Warning, error) {
	if err := set.Validate(); err != nil {
		return nil, err
	}
	l, err := s.GetList(ctx, list)
	if err != nil {
		return nil, err
	}
	probe, total, enabled, err := s.deliveryView(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	sim, err := s.newSimulation(ctx, l, probe)
	if err != nil {
		return nil, err
	}
	defer sim.close()
	members := []string{checkMember}
	if probe != "" {
		members = append(members, probe)
	}
	var warns []Warning
	for _, m := range members {
		before, err := sim.evaluate(ctx, l.Settings, m)
		if err != nil {
			return nil, err
		}
		after, err := sim.evaluate(ctx, set, m)
		if err != nil {
			return nil, err
		}
		if after.Action != Accept {
			w := Warning{Kind: WarnMemberPost, Poster: m, Action: after.Action, Rule: decidingRule(after),
				Reason: after.Reason, Already: before.Action == after.Action && decidingRule(before) == decidingRule(after)}
			w.Message = fmt.Sprintf("a plain post from member %s would be %s by rule %s (%s)",
				m, pastTense(after.Action), w.Rule, after.Reason)
			warns = append(warns, w)
		}
	}
	before, err := sim.evaluate(ctx, l.Settings, checkNonmember)
	if err != nil {
		return nil, err
	}
	after, err := sim.evaluate(ctx, set, checkNonmember)
	if err != nil {
		return nil, err
	}
	if after.Action == Accept && before.Action != Accept {
		warns = append(warns, Warning{Kind: WarnNonmemberPost, Poster: checkNonmember, Action: Accept,
			Rule: decidingRule(after), Reason: after.Reason,
			Message: fmt.Sprintf("a post from anybody (non-member %s) would be distributed to every member, not %s as now (%s)",
				checkNonmember, pastTense(before.Action), after.Reason)})
	}
	if total > 0 && enabled == 0 {
		warns = append(warns, Warning{Kind: WarnDelivery, Already: true,
			Message: fmt.Sprintf("no member receives posts: delivery is disabled for all %d members", total)})
	}
	return warns, nil
}

func decidingRule(d Decision) string {
	if d.Rule == "record-only" {
		var hits []string
		for _, r := range d.Rules {
			if r.Hit && r.Action == "" {
				hits = append(hits, r.Rule)
			}
		}
		if len(hits) > 0 {
			return strings.Join(hits, ",")
		}
	}
	if d.Rule == "" {
		return "(end of chain)"
	}
	return d.Rule
}

func pastTense(a Action) string {
	switch a {
	case Accept:
		return "accepted"
	case Hold:
		return "held"
	case Reject:
		return "rejected"
	case Discard:
		return "discarded"
	}
	return string(a)
}

// deliveryView returns the first member with delivery enabled ("" if
// none), and how many members (role member) the list has and how many of
// them receive posts.
func (s *Store) deliveryView(ctx context.Context, listID int64) (first string, total, enabled int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(delivery = ?), 0),
		coalesce((SELECT address FROM members WHERE list_id = ? AND role = ? AND delivery = ? ORDER BY addr_key LIMIT 1), '')
		FROM members WHERE list_id = ? AND role = ?`,
		string(DeliveryEnabled), listID, string(RoleMember), string(DeliveryEnabled), listID, string(RoleMember)).
		Scan(&total, &enabled, &first)
	if err != nil {
		return "", 0, 0, fmt.Errorf("lists: members: %w", err)
	}
	return first, total, enabled, nil
}

// simulation is a throwaway in-memory store holding a copy of one list
// (settings, and the probe members without their own moderation actions),
// with the default chain over it.
type simulation struct {
	st    *Store
	chain *Chain
	list  string
	close func()
}

func (s *Store) newSimulation(ctx context.Context, l *List, realMember string) (*simulation, error) {
	db, err := store.Open(":memory:", store.Options{})
	if err != nil {
		return nil, fmt.Errorf("lists: settings check: %w", err)
	}
	// Every connection to :memory: is a database of its own: keep one.
	db.SetMaxOpenConns(1)
	fail := func(err error) (*simulation, error) {
		db.Close()
		return nil, fmt.Errorf("lists: settings check: %w", err)
	}
	st, err := New(ctx, db, Options{Secret: s.secret, Now: s.now, Rand: s.rand, Logger: s.log})
	if err != nil {
		return fail(err)
	}
	if _, err := st.CreateList(ctx, ListSpec{Address: l.Address(), DisplayName: l.DisplayName, Settings: &l.Settings}); err != nil {
		return fail(err)
	}
	nms := []NewMember{{Address: checkMember}}
	if realMember != "" {
		nms = append(nms, NewMember{Address: realMember})
	}
	res, err := st.AddMembers(ctx, l.Address(), nms)
	if err != nil {
		return fail(err)
	}
	for _, r := range res {
		if r.Err != nil {
			return fail(r.Err)
		}
	}
	return &simulation{st: st, chain: NewChain(st, ChainOptions{}), list: l.Address(), close: func() { db.Close() }}, nil
}

// evaluate sets the copy's settings to set and returns the chain's verdict
// on a plain post from poster.
func (sim *simulation) evaluate(ctx context.Context, set Settings, poster string) (Decision, error) {
	if err := sim.st.SetSettings(ctx, sim.list, set); err != nil {
		return Decision{}, fmt.Errorf("lists: settings check: %w", err)
	}
	p := &Post{
		EnvelopeFrom: poster,
		Header: map[string][]string{
			"From":       {poster},
			"To":         {sim.list},
			"Subject":    {"Plain post (settings check)"},
			"Message-Id": {"<settings-check@posthorn.invalid>"},
			"Date":       {sim.st.now().Format("Mon, 02 Jan 2006 15:04:05 -0700")},
		},
		Body:  []byte("Hello,\r\nthis is a plain post to the list.\r\n"),
		Size:  checkPostSize,
		Rcpts: 1,
	}
	d := sim.chain.Evaluate(ctx, sim.list, p)
	if d.Err != "" && d.Rule == "list" {
		return Decision{}, fmt.Errorf("lists: settings check: %s", d.Err)
	}
	return d, nil
}
