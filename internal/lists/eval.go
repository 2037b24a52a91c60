package lists

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// eval is the state of one chain evaluation.
type eval struct {
	ctx   context.Context
	store *Store
	list  *List
	post  *Post
	comp  *compiled
	d     *Decision

	senders []senderSource
	// member is the first sender (in order) on the roster as member,
	// moderator or owner; memberAction its own action (nil: list default).
	member       *senderSource
	memberAction *Action
	// nonmemberAction is the own action of the first sender with a
	// nonmember row that has one.
	nonmemberAction *Action
	nonmemberAddr   string

	lines     []string // first non-blank lines of the first text part
	linesRead bool
}

// textLines returns up to n (at most 5) first non-blank body lines, read once.
func (ev *eval) textLines(n int) []string {
	if !ev.linesRead {
		ev.lines, ev.linesRead = ev.post.textLines(5), true
	}
	return ev.lines[:min(n, len(ev.lines))]
}

// compiled holds a list's settings with their regular expressions compiled,
// cached per list and rev.
type compiled struct {
	rev         int64
	bannedExact map[string]bool
	bannedRegex []*regexp.Regexp
	aliasExact  map[string]bool
	aliasRegex  []*regexp.Regexp
	headerMatch []*regexp.Regexp // parallel to Settings.HeaderMatches
	suspicious  []*regexp.Regexp // parallel to Settings.SuspiciousHeaders
}

func compileAddrPatterns(ps []string) (map[string]bool, []*regexp.Regexp, error) {
	exact := map[string]bool{}
	var res []*regexp.Regexp
	for _, p := range ps {
		if strings.HasPrefix(p, "^") {
			re, err := regexp.Compile("(?i)" + p)
			if err != nil {
				return nil, nil, fmt.Errorf("pattern %q: %w", p, err)
			}
			res = append(res, re)
			continue
		}
		exact[strings.ToLower(strings.TrimSpace(p))] = true
	}
	return exact, res, nil
}

func compileSettings(l *List) (*compiled, error) {
	s := &l.Settings
	c := &compiled{rev: l.Rev}
	var err error
	if c.bannedExact, c.bannedRegex, err = compileAddrPatterns(s.BannedAddresses); err != nil {
		return nil, fmt.Errorf("banned_addresses: %w", err)
	}
	if c.aliasExact, c.aliasRegex, err = compileAddrPatterns(s.AcceptableAliases); err != nil {
		return nil, fmt.Errorf("acceptable_aliases: %w", err)
	}
	for _, m := range s.HeaderMatches {
		re, err := regexp.Compile("(?i)" + m.Pattern)
		if err != nil {
			return nil, fmt.Errorf("header_matches %q: %w", m.Pattern, err)
		}
		c.headerMatch = append(c.headerMatch, re)
	}
	for _, m := range s.SuspiciousHeaders {
		re, err := regexp.Compile("(?i)" + m.Pattern)
		if err != nil {
			return nil, fmt.Errorf("suspicious_headers %q: %w", m.Pattern, err)
		}
		c.suspicious = append(c.suspicious, re)
	}
	return c, nil
}

func (c *Chain) compiled(l *List) (*compiled, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.cache[l.ID]; e != nil && e.rev == l.Rev {
		return e, nil
	}
	e, err := compileSettings(l)
	if err != nil {
		return nil, err
	}
	c.cache[l.ID] = e
	return e, nil
}

// findPoster looks the sender candidates up on the roster (one query).
func (ev *eval) findPoster() error {
	ev.senders = ev.post.senders()
	keys := make([]string, len(ev.senders))
	for i, s := range ev.senders {
		keys[i] = addrKey(s.addr)
	}
	roster, err := ev.store.roster(ev.ctx, ev.list.ID, keys)
	if err != nil {
		return err
	}
	for i := range ev.senders {
		rows := roster[keys[i]]
		if ev.member == nil {
			for _, role := range []Role{RoleMember, RoleModerator, RoleOwner} {
				if e, ok := rows[role]; ok {
					ev.member = &ev.senders[i]
					ev.memberAction = e.moderation
					break
				}
			}
			if ev.member != nil {
				// The member row's own action wins over its other roles'.
				for _, role := range []Role{RoleMember, RoleModerator, RoleOwner} {
					if e, ok := rows[role]; ok && e.moderation != nil {
						ev.memberAction = e.moderation
						break
					}
				}
			}
		}
		if e, ok := rows[RoleNonmember]; ok && e.moderation != nil && ev.nonmemberAction == nil {
			ev.nonmemberAction = e.moderation
			ev.nonmemberAddr = ev.senders[i].addr
		}
	}
	switch {
	case ev.member != nil:
		ev.d.Poster, ev.d.PosterSource, ev.d.Member = ev.member.addr, ev.member.source, true
	case len(ev.senders) > 0:
		ev.d.Poster, ev.d.PosterSource = ev.senders[0].addr, ev.senders[0].source
	}
	return nil
}

// defaultRules is the posting chain in order; keep in step with RuleOrder.
func defaultRules() []rule {
	return []rule{
		{name: RuleApproved, check: checkApproved},
		{name: RuleEmergency, check: checkEmergency},
		{name: RuleLoop, check: checkLoop},
		{name: RuleBanned, check: checkBanned},
		{name: RuleMemberModeration, check: checkMemberModeration},
		{name: RuleHeaderMatch, check: checkHeaderMatch},
		{name: RuleNonmemberModeration, check: checkNonmemberModeration},
		{name: RuleAdministrivia, recordOnly: true, check: checkAdministrivia},
		{name: RuleImplicitDest, recordOnly: true, check: checkImplicitDest},
		{name: RuleMaxRecipients, recordOnly: true, check: checkMaxRecipients},
		{name: RuleMaxSize, recordOnly: true, check: checkMaxSize},
		{name: RuleNoSubject, recordOnly: true, check: checkNoSubject},
		{name: RuleSuspiciousHeader, recordOnly: true, check: checkSuspicious},
	}
}
