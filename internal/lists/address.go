package lists

import (
	"net/mail"
	"strings"
)

// Address roles returned by ParseAddress.
const (
	AddrPost    = "post"    // the posting address itself
	AddrRequest = "request" // commands
	AddrOwner   = "owner"
	AddrBounces = "bounces" // extra: the VERP-encoded member address, if any
	AddrConfirm = "confirm" // extra: the token
	AddrJoin    = "join"
	AddrLeave   = "leave"
)

// companion suffixes in the order they are tried; "subscribe" and
// "unsubscribe" are the Mailman aliases of join and leave.
func companions() []struct{ suffix, role string } {
	return []struct{ suffix, role string }{
		{"-request", AddrRequest},
		{"-owner", AddrOwner},
		{"-bounces", AddrBounces},
		{"-confirm", AddrConfirm},
		{"-join", AddrJoin},
		{"-leave", AddrLeave},
		{"-subscribe", AddrJoin},
		{"-unsubscribe", AddrLeave},
	}
}

// NormalizeAddress parses a bare or named address and returns it with the
// domain lowercased (the local part keeps its case, as delivered) and the
// display name, if any.
func NormalizeAddress(s string) (addr, name string, err error) {
	s = strings.TrimSpace(s)
	a, perr := mail.ParseAddress(s)
	if perr != nil {
		return "", "", &InvalidError{Field: "address", Value: s, Problem: perr.Error()}
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return "", "", &InvalidError{Field: "address", Value: s, Problem: "want local@domain"}
	}
	return a.Address[:at] + "@" + strings.ToLower(a.Address[at+1:]), a.Name, nil
}

// addrKey is the case-insensitive key under which an address is unique.
func addrKey(addr string) string { return strings.ToLower(addr) }

func splitAddr(addr string) (local, domain string, ok bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", false
	}
	return addr[:at], addr[at+1:], true
}

// ParseAddress maps addr (a bare address; case-insensitive) to its list's
// posting address, the role of addr for that list and an extra part: the
// token of a -confirm+TOKEN address, the member address decoded from a
// VERP -bounces+local=domain address, or "probe-TOKEN" for a probe's
// -bounces+probe-TOKEN address (see ProbeToken). A plain address is the posting
// address (role "post"). ok is false when addr is not an address.
//
// ParseAddress does not know which lists exist: "team-owner@..." is read as
// the owner address of "team". Store.ResolveAddress checks the store, so a
// list really called "team-owner" still receives its posts.
func ParseAddress(addr string) (list, role, extra string, ok bool) {
	local, domain, ok := splitAddr(strings.ToLower(strings.TrimSpace(strings.Trim(addr, "<>"))))
	if !ok {
		return "", "", "", false
	}
	base, plus := local, ""
	if i := strings.IndexByte(local, '+'); i >= 0 {
		base, plus = local[:i], local[i+1:]
	}
	for _, c := range companions() {
		name, found := strings.CutSuffix(base, c.suffix)
		if !found || name == "" {
			continue
		}
		switch c.role {
		case AddrConfirm:
			if plus == "" {
				return name + "@" + domain, c.role, "", true
			}
			return name + "@" + domain, c.role, plus, true
		case AddrBounces:
			if _, ok := ProbeToken(plus); ok {
				return name + "@" + domain, c.role, plus, true
			}
			return name + "@" + domain, c.role, decodeVERP(plus), true
		default:
			return name + "@" + domain, c.role, plus, true
		}
	}
	return base + "@" + domain, AddrPost, plus, true
}

// CompanionAddress returns the address of role for the list whose posting
// address is list ("request", "owner", "bounces", "confirm", "join", "leave").
func CompanionAddress(list, role string) string {
	local, domain, ok := splitAddr(list)
	if !ok || role == AddrPost {
		return list
	}
	return local + "-" + role + "@" + domain
}

// BounceAddress returns the VERP return path for member on list:
// name-bounces+local=domain@listdomain.
func BounceAddress(list, member string) string {
	local, domain, ok := splitAddr(list)
	ml, md, mok := splitAddr(member)
	if !ok || !mok {
		return CompanionAddress(list, AddrBounces)
	}
	return local + "-bounces+" + ml + "=" + strings.ToLower(md) + "@" + domain
}

// ConfirmAddress returns name-confirm+TOKEN@domain.
func ConfirmAddress(list, token string) string {
	local, domain, _ := splitAddr(list)
	return local + "-confirm+" + token + "@" + domain
}

func decodeVERP(s string) string {
	i := strings.LastIndexByte(s, '=')
	if i <= 0 || i == len(s)-1 {
		return ""
	}
	return s[:i] + "@" + s[i+1:]
}

// probePrefix starts the extra part of a probe's return path.
const probePrefix = "probe-"

// ProbeAddress returns the return path of a bounce probe:
// name-bounces+probe-TOKEN@domain. token must be lowercase letters and
// digits (ProbeToken refuses anything else).
func ProbeAddress(list, token string) string {
	local, domain, ok := splitAddr(list)
	if !ok {
		return CompanionAddress(list, AddrBounces)
	}
	return local + "-bounces+" + probePrefix + token + "@" + domain
}

// ProbeToken tells the extra part of a -bounces address (as ParseAddress
// returns it) that names a probe from one that names a member, and returns
// the probe's token. A member's VERP part always has a "=" (and decodes to
// an address with "@"), even for a member called probe-x@example.org
// ("probe-x=example.org"); a probe's is "probe-" and 8 to 64 lowercase
// letters or digits, with neither.
func ProbeToken(extra string) (token string, ok bool) {
	t, found := strings.CutPrefix(strings.ToLower(extra), probePrefix)
	if !found || len(t) < 8 || len(t) > 64 {
		return "", false
	}
	for _, c := range t {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "", false
		}
	}
	return t, true
}
