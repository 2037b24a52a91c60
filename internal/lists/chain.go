package lists

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
)

// Rule names, in chain order (see RuleOrder).
const (
	RuleApproved            = "approved"
	RuleEmergency           = "emergency"
	RuleLoop                = "loop"
	RuleBanned              = "banned-address"
	RuleMemberModeration    = "member-moderation"
	RuleHeaderMatch         = "header-match"
	RuleNonmemberModeration = "nonmember-moderation"
	RuleAdministrivia       = "administrivia"
	RuleImplicitDest        = "implicit-destination"
	RuleMaxRecipients       = "max-recipients"
	RuleMaxSize             = "max-size"
	RuleNoSubject           = "no-subject"
	RuleSuspiciousHeader    = "suspicious-header"
)

// RuleOrder returns the rule names in the order the chain evaluates them.
func RuleOrder() []string {
	return []string{
		RuleApproved, RuleEmergency, RuleLoop, RuleBanned, RuleMemberModeration,
		RuleHeaderMatch, RuleNonmemberModeration,
		RuleAdministrivia, RuleImplicitDest, RuleMaxRecipients, RuleMaxSize, RuleNoSubject, RuleSuspiciousHeader,
	}
}

// RuleHit is one evaluated rule.
type RuleHit struct {
	Rule   string `json:"rule"`
	Hit    bool   `json:"hit"`
	Detail string `json:"detail,omitempty"`
	// Action is what a deciding hit did ("" for a miss or a record-only hit).
	Action Action `json:"action,omitempty"`
	Err    string `json:"error,omitempty"`
}

// Decision is the chain's verdict on a post. It carries what a moderation
// queue needs to store with a held message: the decision id, the deciding
// rule and reason, the poster and every rule evaluated.
type Decision struct {
	ID        int64 // row in the decisions table; 0 when not recorded
	List      string
	MessageID string
	Action    Action // accept, hold, reject or discard (never defer)
	// Rule is the rule that decided; "" when the post went through the whole
	// chain and was accepted; "record-only" when record-only hits held it.
	Rule   string
	Reason string
	// Notice is the text for the poster when Action is reject.
	Notice       string
	Poster       string // the member address that matched, else the first sender
	PosterSource string // from, sender, reply-to or envelope
	Member       bool
	Rules        []RuleHit // evaluated rules, in order; rules after the deciding one are absent
	Err          string    // the rule error that made the chain fail closed
	// StripHeaders are approval fields (Approved:, Approve:, ...) to remove
	// before the post is distributed, whatever their password.
	StripHeaders []string
	// ApprovedBodyLine is set when the first body line of the first text
	// part carries an approval password: distribution must remove it.
	ApprovedBodyLine bool
	Time             time.Time
	// RecordErr is set when Decide could not store the decision (ID is 0).
	RecordErr string
}

// Hits returns the names of the rules that hit.
func (d *Decision) Hits() []string {
	var out []string
	for _, r := range d.Rules {
		if r.Hit {
			out = append(out, r.Rule)
		}
	}
	return out
}

// outcome is what one rule found. action is set when the rule decides;
// Defer or "" let the chain go on.
type outcome struct {
	hit    bool
	detail string
	action Action
}

type rule struct {
	name       string
	recordOnly bool
	check      func(*eval) (outcome, error)
}

// ChainOptions configure a Chain.
type ChainOptions struct {
	// Log receives a decision event per recorded decision; may be nil.
	Log *maillog.Log
}

// Chain is the posting rule chain over a Store.
type Chain struct {
	store        *Store
	rules        []rule
	mlog         *maillog.Log
	errors       atomic.Uint64
	recordErrors atomic.Uint64

	mu    sync.Mutex
	cache map[int64]*compiled // by list id; entries carry the list rev
}

// NewChain returns the default posting chain.
func NewChain(s *Store, opts ChainOptions) *Chain {
	c := &Chain{store: s, mlog: opts.Log, cache: map[int64]*compiled{}}
	c.rules = defaultRules()
	return c
}

// RuleOrder returns the names of this chain's rules in evaluation order.
func (c *Chain) RuleOrder() []string {
	out := make([]string, len(c.rules))
	for i, r := range c.rules {
		out[i] = r.name
	}
	return out
}

// RuleErrors is the number of rule errors since the chain was made (each
// one held a post).
func (c *Chain) RuleErrors() uint64 { return c.errors.Load() }

// RecordErrors is the number of decisions that could not be stored.
func (c *Chain) RecordErrors() uint64 { return c.recordErrors.Load() }

// Decide evaluates post against list (its posting address), records the
// decision and returns it. It never fails open: when the list cannot be
// read or a rule fails, the post is held and the error is in the decision.
// An unknown list rejects.
func (c *Chain) Decide(ctx context.Context, list string, post *Post) Decision {
	d, l := c.evaluate(ctx, list, post)
	if l != nil {
		c.record(ctx, l, post, &d)
	}
	return d
}

// Evaluate is Decide without recording (a dry run for "posthorn explain").
func (c *Chain) Evaluate(ctx context.Context, list string, post *Post) Decision {
	d, _ := c.evaluate(ctx, list, post)
	return d
}

func (c *Chain) evaluate(ctx context.Context, list string, post *Post) (Decision, *List) {
	d := Decision{List: strings.ToLower(list), MessageID: post.MessageID(), Time: c.store.now()}
	l, err := c.store.GetList(ctx, list)
	if err != nil {
		var nf *NotFoundError
		var inv *InvalidError
		if errors.As(err, &nf) || errors.As(err, &inv) {
			d.Action, d.Rule, d.Reason = Reject, "list", err.Error()
			d.Notice = "There is no mailing list " + list + "."
			return d, nil
		}
		c.fail(&d, "list", err)
		return d, nil
	}
	d.List = l.Address()
	comp, err := c.compiled(l)
	ev := &eval{ctx: ctx, store: c.store, list: l, post: post, comp: comp, d: &d}
	if err == nil {
		err = ev.findPoster()
	}
	if err != nil {
		c.fail(&d, "settings", err)
		return d, l
	}
	var held []string
	for _, r := range c.rules {
		o, err := r.check(ev)
		if err != nil {
			d.Rules = append(d.Rules, RuleHit{Rule: r.name, Hit: true, Action: Hold, Err: err.Error()})
			c.fail(&d, r.name, err)
			return d, l
		}
		h := RuleHit{Rule: r.name, Hit: o.hit, Detail: o.detail}
		decides := o.hit && !r.recordOnly && o.action != "" && o.action != Defer
		if decides {
			h.Action = o.action
		}
		d.Rules = append(d.Rules, h)
		if r.recordOnly && o.hit {
			held = append(held, r.name+": "+o.detail)
		}
		if decides {
			d.Action, d.Rule, d.Reason = o.action, r.name, r.name+": "+o.detail
			if o.action == Reject {
				d.Notice = fmt.Sprintf("Your message to %s was rejected (%s).", l.Address(), o.detail)
			}
			return d, l
		}
	}
	if len(held) > 0 {
		d.Action, d.Rule, d.Reason = Hold, "record-only", strings.Join(held, "; ")
		return d, l
	}
	d.Action, d.Reason = Accept, "no rule held the post"
	return d, l
}

// fail holds the post because of err in rule (fail closed), logs and counts.
func (c *Chain) fail(d *Decision, rule string, err error) {
	c.errors.Add(1)
	d.Action, d.Rule = Hold, rule
	d.Err = err.Error()
	d.Reason = "rule " + rule + " failed, held for safety: " + err.Error()
	c.store.log.Error("lists: rule failed, post held",
		slog.String("list", d.List), slog.String("rule", rule),
		slog.String("message_id", d.MessageID), slog.String("error", err.Error()))
}

func (c *Chain) record(ctx context.Context, l *List, post *Post, d *Decision) {
	if err := c.insertDecision(ctx, l, d); err != nil {
		c.recordErrors.Add(1)
		d.RecordErr = err.Error()
		c.store.log.Error("lists: decision not recorded", slog.String("list", d.List),
			slog.String("message_id", d.MessageID), slog.String("error", err.Error()))
	}
	if c.mlog != nil {
		c.mlog.Record(maillog.Event{Time: d.Time, Kind: maillog.Decision, MessageID: d.MessageID,
			From: post.EnvelopeFrom, Size: post.Size, List: d.List, Action: string(d.Action), Rules: d.Hits(), Reply: d.Reason})
	}
}

func (c *Chain) insertDecision(ctx context.Context, l *List, d *Decision) error {
	rules, err := json.Marshal(d.Rules)
	if err != nil {
		return err
	}
	res, err := c.store.db.ExecContext(ctx, `INSERT INTO decisions (list_id, message_id, poster, member, action, rule, reason, rules, error, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, l.ID, d.MessageID, d.Poster, d.Member, string(d.Action), d.Rule, d.Reason,
		string(rules), d.Err, d.Time.UnixNano())
	if err != nil {
		return err
	}
	d.ID, err = res.LastInsertId()
	return err
}

// RecentDecisions returns up to limit decisions of list, newest first.
func (s *Store) RecentDecisions(ctx context.Context, list string, limit int) ([]Decision, error) {
	return s.DecisionsBefore(ctx, list, 0, limit)
}

// DecisionsBefore returns up to limit (at most 1,000; default 100)
// decisions of list with an ID below before, newest first; before 0
// means the newest. The last ID of a page is the before of the next.
func (s *Store) DecisionsBefore(ctx context.Context, list string, before int64, limit int) ([]Decision, error) {
	id, laddr, err := s.listID(ctx, s.db, list)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, message_id, poster, member, action, rule, reason, rules, error, at
		FROM decisions WHERE list_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, id, before, limit)
	if err != nil {
		return nil, fmt.Errorf("lists: decisions: %w", err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		d := Decision{List: laddr}
		var rules string
		var at int64
		if err := rows.Scan(&d.ID, &d.MessageID, &d.Poster, &d.Member, &d.Action, &d.Rule, &d.Reason, &rules, &d.Err, &at); err != nil {
			return nil, fmt.Errorf("lists: decisions: %w", err)
		}
		if err := json.Unmarshal([]byte(rules), &d.Rules); err != nil {
			return nil, fmt.Errorf("lists: decision %d rules: %w", d.ID, err)
		}
		d.Time = time.Unix(0, at)
		out = append(out, d)
	}
	return out, rows.Err()
}
