package smtpd

import (
	"net/netip"

	"github.com/emersion/go-smtp"
)

// Unknown is the service of a client no [[service]] claims.
const Unknown = "unknown"

// Service is a named sender identified by its client networks or its
// SMTP AUTH login.
type Service struct {
	Name     string
	Networks []netip.Prefix
	Login    string        // AUTH user name; "" = Name
	Password *PasswordHash // nil = cannot log in
	// MaxPerMinute bounds the messages the service may submit per minute;
	// 0 = no bound.
	MaxPerMinute int
}

// Policy is what the configuration decides about a client before any mail
// is written: whether it may relay and which service it is. The same code
// serves SMTP sessions and configuration tests (internal/configtest).
type Policy struct {
	TrustedNetworks []netip.Prefix
	Services        []Service // first match wins
	// Local says whether an address is one this host receives mail for
	// (a list address); nil means none.
	Local func(addr string) LocalAnswer
}

// LocalAnswer is what Policy.Local says about an address.
type LocalAnswer int

const (
	NotLocal     LocalAnswer = iota // not on a local domain: relaying rules apply
	LocalKnown                      // an existing local address: accepted from anyone
	LocalUnknown                    // on a local domain, but no such address
	LocalError                      // cannot tell now (database error)
)

// Trusted reports whether ip may relay.
func (p *Policy) Trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range p.TrustedNetworks {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// ServiceOf returns the first service whose networks contain ip, or Unknown.
func (p *Policy) ServiceOf(ip netip.Addr) string {
	ip = ip.Unmap()
	for _, svc := range p.Services {
		for _, n := range svc.Networks {
			if n.Contains(ip) {
				return svc.Name
			}
		}
	}
	return Unknown
}

// CheckSender refuses a MAIL FROM address that is not "" or local@domain.
func CheckSender(from string) *smtp.SMTPError {
	if from != "" && !validAddress(from) {
		return reply(501, [3]int{5, 1, 7}, "Bad sender address syntax")
	}
	return nil
}

// CheckRcpt refuses a RCPT TO address that is malformed or, for an
// untrusted client, any address at all (never an open relay).
func CheckRcpt(trusted bool, to string) *smtp.SMTPError {
	if !validAddress(to) {
		return reply(501, [3]int{5, 1, 3}, "Bad recipient address syntax")
	}
	if !trusted {
		return reply(554, [3]int{5, 7, 1}, "<"+to+">: Relay access denied")
	}
	return nil
}

// Rcpt is CheckRcpt with local addresses: a list address is accepted from
// any client, an unknown address on a list domain refused with 550 5.1.1.
func (p *Policy) Rcpt(trusted bool, to string) *smtp.SMTPError {
	if !validAddress(to) {
		return reply(501, [3]int{5, 1, 3}, "Bad recipient address syntax")
	}
	if p.Local != nil {
		switch p.Local(to) {
		case LocalKnown:
			return nil
		case LocalUnknown:
			return reply(550, [3]int{5, 1, 1}, "<"+to+">: No such list or address")
		case LocalError:
			return reply(451, [3]int{4, 3, 0}, "<"+to+">: Temporary lookup failure, try again later")
		}
	}
	return CheckRcpt(trusted, to)
}

func rcptReason(err *smtp.SMTPError, to string) string {
	switch err.Code {
	case 554:
		return "relay access denied for " + to
	case 550:
		return "no such local address " + to
	case 451:
		return "local address lookup failed for " + to
	}
	return "bad recipient address " + to
}

// policy is the Policy of the server's options.
func (s *Server) policy() *Policy {
	return &Policy{TrustedNetworks: s.opts.TrustedNetworks, Services: s.opts.Services, Local: s.opts.Local}
}

// ratePerMinute is the message rate bound of the named service; 0 = none.
func (s *Server) ratePerMinute(name string) int {
	for _, svc := range s.opts.Services {
		if svc.Name == name {
			return svc.MaxPerMinute
		}
	}
	return 0
}
