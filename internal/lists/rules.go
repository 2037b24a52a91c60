package lists

import (
	"fmt"
	"mime"
	"net/textproto"
	"strings"
)

// approvalFields are the header fields (and body line prefixes) that carry
// a pre-approval password.
func approvalFields() []string { return []string{"Approved", "Approve", "X-Approved", "X-Approve"} }

func (ev *eval) values(name string) []string {
	return ev.post.Header[textproto.CanonicalMIMEHeaderKey(name)]
}

// decoded returns an RFC 2047-decoded field value (the raw value if it
// cannot be decoded).
func decoded(v string) string {
	d, err := (&mime.WordDecoder{}).DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

func checkApproved(ev *eval) (outcome, error) {
	var pw string
	found := false
	for _, f := range approvalFields() {
		if vs := ev.values(f); len(vs) > 0 {
			ev.d.StripHeaders = append(ev.d.StripHeaders, f)
			if !found {
				pw, found = strings.TrimSpace(vs[0]), true
			}
		}
	}
	if !found {
		if lines := ev.textLines(1); len(lines) == 1 {
			name, val, ok := strings.Cut(lines[0], ":")
			for _, f := range approvalFields() {
				if ok && strings.EqualFold(strings.TrimSpace(name), f) {
					pw, found = strings.TrimSpace(val), true
					ev.d.ApprovedBodyLine = true
					break
				}
			}
		}
	}
	switch {
	case !found:
		return outcome{detail: "no approval password"}, nil
	case ev.list.pwHash == "":
		return outcome{detail: "approval password given, but the list has no moderator password"}, nil
	}
	ok, err := checkPassword(ev.list.pwHash, pw)
	if err != nil {
		return outcome{}, err
	}
	if !ok {
		return outcome{detail: "wrong approval password"}, nil
	}
	return outcome{hit: true, detail: "approved with the moderator password", action: Accept}, nil
}

func checkEmergency(ev *eval) (outcome, error) {
	if !ev.list.Settings.EmergencyModeration {
		return outcome{detail: "emergency moderation off"}, nil
	}
	return outcome{hit: true, detail: "the list is in emergency moderation", action: Hold}, nil
}

func checkLoop(ev *eval) (outcome, error) {
	addr := ev.list.Address()
	for _, v := range ev.values("X-BeenThere") {
		if strings.EqualFold(strings.Trim(strings.TrimSpace(v), "<>"), addr) {
			return outcome{hit: true, detail: "X-BeenThere: " + addr, action: Discard}, nil
		}
	}
	for _, v := range ev.values("List-Post") {
		for _, u := range strings.Split(v, ",") {
			u = strings.Trim(strings.TrimSpace(u), "<>")
			u, _, _ = strings.Cut(u, "?")
			if len(u) > 7 && strings.EqualFold(u[:7], "mailto:") && strings.EqualFold(u[7:], addr) {
				return outcome{hit: true, detail: "List-Post: " + addr, action: Discard}, nil
			}
		}
	}
	return outcome{detail: "not from this list"}, nil
}

func checkBanned(ev *eval) (outcome, error) {
	for _, s := range ev.senders {
		key := addrKey(s.addr)
		if ev.comp.bannedExact[key] {
			return outcome{hit: true, detail: fmt.Sprintf("%s (%s) is banned", s.addr, s.source), action: Discard}, nil
		}
		for _, re := range ev.comp.bannedRegex {
			if re.MatchString(key) {
				return outcome{hit: true, detail: fmt.Sprintf("%s (%s) matches ban %s", s.addr, s.source, re.String()[4:]), action: Discard}, nil
			}
		}
	}
	return outcome{detail: "no sender is banned"}, nil
}

func checkMemberModeration(ev *eval) (outcome, error) {
	if ev.member == nil {
		return outcome{detail: "poster is not a member"}, nil
	}
	act, src := ev.list.Settings.DefaultMemberAction, "list default"
	if ev.memberAction != nil {
		act, src = *ev.memberAction, "member's own"
	}
	d := fmt.Sprintf("%s (%s) is a member; action %s (%s)", ev.member.addr, ev.member.source, act, src)
	return outcome{hit: act != Defer, detail: d, action: act}, nil
}

func checkHeaderMatch(ev *eval) (outcome, error) {
	var deferred []string
	for i, m := range ev.list.Settings.HeaderMatches {
		re := ev.comp.headerMatch[i]
		for _, v := range ev.values(m.Header) {
			if !re.MatchString(decoded(v)) {
				continue
			}
			d := fmt.Sprintf("%s: matches %q", textproto.CanonicalMIMEHeaderKey(m.Header), m.Pattern)
			if m.Action == Defer {
				deferred = append(deferred, d)
				break
			}
			if len(deferred) > 0 {
				d = strings.Join(deferred, "; ") + "; " + d
			}
			return outcome{hit: true, detail: d, action: m.Action}, nil
		}
	}
	if len(deferred) > 0 {
		return outcome{hit: true, detail: strings.Join(deferred, "; ") + " (defer: recorded only)", action: Defer}, nil
	}
	return outcome{detail: fmt.Sprintf("%d header rules, none matched", len(ev.list.Settings.HeaderMatches))}, nil
}

func checkNonmemberModeration(ev *eval) (outcome, error) {
	if ev.member != nil {
		return outcome{detail: "poster is a member"}, nil
	}
	act, src, who := ev.list.Settings.DefaultNonmemberAction, "list default", ev.d.Poster
	if ev.nonmemberAction != nil {
		act, src, who = *ev.nonmemberAction, "sender's own", ev.nonmemberAddr
	}
	if who == "" {
		who = "(no sender address)"
	}
	d := fmt.Sprintf("%s is not a member; action %s (%s)", who, act, src)
	return outcome{hit: act != Defer, detail: d, action: act}, nil
}

// administrivia maps command words to the number of arguments (min, max)
// that make a line look like a command rather than prose.
func administrivia() map[string][2]int {
	return map[string][2]int{
		"confirm": {1, 1}, "help": {0, 0}, "info": {0, 0}, "join": {0, 3}, "leave": {0, 2},
		"lists": {0, 0}, "options": {0, 0}, "password": {2, 2}, "remove": {0, 0}, "set": {3, 3},
		"subscribe": {0, 3}, "unsubscribe": {0, 2}, "who": {0, 2},
	}
}

func isCommand(cmds map[string][2]int, line string) bool {
	words := strings.Fields(strings.ToLower(line))
	if len(words) == 0 {
		return false
	}
	r, ok := cmds[words[0]]
	return ok && len(words)-1 >= r[0] && len(words)-1 <= r[1]
}

func checkAdministrivia(ev *eval) (outcome, error) {
	if !ev.list.Settings.AdministriviaCheck {
		return outcome{detail: "check off"}, nil
	}
	cmds := administrivia()
	if subj := decoded(ev.post.Header.Get("Subject")); isCommand(cmds, subj) {
		return outcome{hit: true, detail: fmt.Sprintf("subject %q looks like a command (send it to %s)",
			strings.TrimSpace(subj), CompanionAddress(ev.list.Address(), AddrRequest))}, nil
	}
	for _, l := range ev.textLines(5) {
		if isCommand(cmds, l) {
			return outcome{hit: true, detail: fmt.Sprintf("body line %q looks like a command (send it to %s)",
				l, CompanionAddress(ev.list.Address(), AddrRequest))}, nil
		}
	}
	return outcome{detail: "no command in subject or first lines"}, nil
}

func checkImplicitDest(ev *eval) (outcome, error) {
	if !ev.list.Settings.RequireExplicitDest {
		return outcome{detail: "explicit destination not required"}, nil
	}
	addr := ev.list.Address()
	for _, a := range ev.post.headerAddrs("To", "Cc") {
		key := addrKey(a)
		if key == addr || ev.comp.aliasExact[key] {
			return outcome{detail: a + " in To/Cc"}, nil
		}
		for _, re := range ev.comp.aliasRegex {
			if re.MatchString(key) {
				return outcome{detail: a + " in To/Cc matches an acceptable alias"}, nil
			}
		}
	}
	return outcome{hit: true, detail: addr + " is not in To or Cc"}, nil
}

func checkMaxRecipients(ev *eval) (outcome, error) {
	max := ev.list.Settings.MaxRecipients
	n := len(ev.post.headerAddrs("To", "Cc"))
	if max > 0 && n >= max {
		return outcome{hit: true, detail: fmt.Sprintf("%d addresses in To/Cc, limit %d", n, max)}, nil
	}
	return outcome{detail: fmt.Sprintf("%d addresses in To/Cc, limit %d", n, max)}, nil
}

func checkMaxSize(ev *eval) (outcome, error) {
	max := ev.list.Settings.MaxMessageSize
	if max > 0 && ev.post.Size > max {
		return outcome{hit: true, detail: fmt.Sprintf("%d bytes, limit %d", ev.post.Size, max)}, nil
	}
	return outcome{detail: fmt.Sprintf("%d bytes, limit %d", ev.post.Size, max)}, nil
}

func checkNoSubject(ev *eval) (outcome, error) {
	if !ev.list.Settings.RequireSubject {
		return outcome{detail: "subject not required"}, nil
	}
	subj := strings.TrimSpace(decoded(ev.post.Header.Get("Subject")))
	if p := strings.TrimSpace(ev.list.Settings.SubjectPrefix); p != "" {
		subj = strings.TrimSpace(strings.TrimPrefix(subj, p))
	}
	if subj == "" {
		return outcome{hit: true, detail: "the message has no subject"}, nil
	}
	return outcome{detail: "has a subject"}, nil
}

func checkSuspicious(ev *eval) (outcome, error) {
	for i, m := range ev.list.Settings.SuspiciousHeaders {
		for _, v := range ev.values(m.Header) {
			if ev.comp.suspicious[i].MatchString(decoded(v)) {
				return outcome{hit: true, detail: fmt.Sprintf("%s: matches %q", textproto.CanonicalMIMEHeaderKey(m.Header), m.Pattern)}, nil
			}
		}
	}
	return outcome{detail: "no suspicious header"}, nil
}
