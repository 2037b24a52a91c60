package configtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/smtpd"
)

// listRcpt is a recipient that is a companion address of a list.
type listRcpt struct {
	addr string
	list *lists.List
	role string
}

// withLists gives the simulator the current list data: st (read-only,
// nil when there is none) or the error that kept it from being opened.
func (s *simulator) withLists(ctx context.Context, st *lists.Store, err error) {
	s.ctx, s.lists, s.listsErr = ctx, st, err
	if st != nil {
		// Evaluate never records: the chain only reads the store.
		s.chain = lists.NewChain(st, lists.ChainOptions{})
	}
}

// listRcpt decides RCPT TO for an address on a list domain the way the
// daemon does (smtpd.Policy.Rcpt with the store's answer): an existing
// list's address is accepted from any client, any other address refused
// 550. It returns the refusal and the key that decided it.
func (s *simulator) listRcpt(sub *submission, to string) (*smtp.SMTPError, string) {
	tr := &sub.c.Trail
	if s.listsErr != nil {
		sub.c.Err = fmt.Errorf("<%s> is on list domain %s but the list data cannot be read: %w", to, domainOf(to), s.listsErr)
		return nil, ""
	}
	answer := smtpd.LocalUnknown
	var l *lists.List
	var role string
	if s.lists == nil {
		tr.Add("list", "lists.domains", "<%s> is on list domain %s, and there is no list data (data_dir/posthorn.db)", to, domainOf(to))
	} else {
		var err error
		l, role, _, err = s.lists.ResolveAddress(s.ctx, to)
		var nf *lists.NotFoundError
		var inv *lists.InvalidError
		switch {
		case err == nil:
			answer = smtpd.LocalKnown
		case errors.As(err, &nf), errors.As(err, &inv):
			tr.Add("list", "lists.domains", "<%s> is on list domain %s, and no list has that address", to, domainOf(to))
		default:
			sub.c.Err = fmt.Errorf("looking up <%s> in the list data: %w", to, err)
			return nil, ""
		}
	}
	p := smtpd.Policy{Local: func(string) smtpd.LocalAnswer { return answer }}
	if e := p.Rcpt(sub.trusted, to); e != nil {
		return e, "lists.domains"
	}
	if role == lists.AddrPost {
		tr.Add("list", "lists.domains", "<%s> is the posting address of list %s: accepted from any client", to, l.Address())
		if !containsList(sub.posts, l) {
			sub.posts = append(sub.posts, l)
		}
	} else {
		tr.Add("list", "lists.domains", "<%s> is the %s address of list %s: accepted from any client, handled by the list server without the posting chain",
			to, role, l.Address())
		sub.others = append(sub.others, listRcpt{addr: to, list: l, role: role})
	}
	return nil, ""
}

func containsList(ls []*lists.List, l *lists.List) bool {
	for _, x := range ls {
		if x.ID == l.ID {
			return true
		}
	}
	return false
}

// post runs the posting chain of every list addressed (read-only) and
// makes the first list's decision the outcome of the case. Mail only to
// companion addresses is accepted without a chain.
func (s *simulator) post(t *config.Test, sub *submission) {
	c := sub.c
	c.Actual.Outcome, c.Actual.Code, c.Actual.Upstream, c.Actual.Rule = Accepted, 250, "", ""
	if len(sub.posts) == 0 {
		return
	}
	for i, l := range sub.posts {
		p, err := lists.ReadPost(bytes.NewReader(sub.msg), sub.from, len(t.To))
		if err != nil {
			c.Err = fmt.Errorf("reading the message as a post to %s: %w", l.Address(), err)
			return
		}
		d := s.chain.Evaluate(s.ctx, l.Address(), p)
		addDecision(&c.Trail, l, &d)
		if d.Err != "" {
			c.Err = fmt.Errorf("list %s: rule %s failed: %s", l.Address(), d.Rule, d.Err)
			return
		}
		if i == 0 {
			c.Actual.Outcome, c.Actual.Rule = outcomeOf(d.Action), decidingRule(&d)
		}
	}
}

// addDecision appends the chain's rule trail and its verdict.
func addDecision(tr *Trail, l *lists.List, d *lists.Decision) {
	who := "not a member"
	if d.Member {
		who = "a member"
	}
	tr.Add("list", "", "%s: poster %s (%s) is %s", l.Address(), d.Poster, sourceName(d.PosterSource), who)
	for _, r := range d.Rules {
		switch {
		case r.Err != "":
			tr.Add("rule", "", "%s: failed: %s", r.Rule, r.Err)
		case r.Hit && r.Action != "":
			tr.Add("rule", "", "%s: hit (%s): %s", r.Rule, r.Detail, r.Action)
		case r.Hit:
			tr.Add("rule", "", "%s: hit (%s), recorded", r.Rule, r.Detail)
		default:
			tr.Add("rule", "", "%s: miss", r.Rule)
		}
	}
	rule := decidingRule(d)
	if rule == "" {
		rule = "(end of chain)"
	}
	tr.Add("list", "", "%s: %s by rule %s: %s", l.Address(), outcomeOf(d.Action), rule,
		strings.TrimPrefix(d.Reason, d.Rule+": "))
}

// sourceName says where the chain found the poster.
func sourceName(src string) string {
	switch src {
	case "from":
		return "the From: field"
	case "sender":
		return "the Sender: field"
	case "reply-to":
		return "the Reply-To: field"
	case "envelope":
		return "the envelope sender"
	}
	return src
}

// outcomeOf names the outcome of a chain action.
func outcomeOf(a lists.Action) string {
	switch a {
	case lists.Accept:
		return Accepted
	case lists.Hold:
		return Held
	case lists.Reject:
		return Rejected
	case lists.Discard:
		return Discarded
	}
	return string(a)
}

// decidingRule is the rule that decided d: "" at the end of the chain,
// the record-only rules that hit (joined by ",") for a record-only hold.
func decidingRule(d *lists.Decision) string {
	if d.Rule != "record-only" {
		return d.Rule
	}
	var hits []string
	for _, r := range d.Rules {
		if r.Hit && r.Action == "" {
			hits = append(hits, r.Rule)
		}
	}
	return strings.Join(hits, ",")
}

// domainOf is the domain of addr, "" when it has none.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
