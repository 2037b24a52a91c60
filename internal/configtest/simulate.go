package configtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/msghdr"
	"github.com/posthorn/posthorn/internal/smtpd"
	"github.com/posthorn/posthorn/internal/smtperr"
)

// maxHeaderSize is the header section limit of smtpd (its default).
const maxHeaderSize = 1 << 20

// simulator runs cases against one configuration.
type simulator struct {
	cfg    *config.Config
	policy smtpd.Policy
	// The list data (see withLists); lists is nil when there is none.
	ctx      context.Context
	lists    *lists.Store
	listsErr error
	chain    *lists.Chain
}

func newSimulator(cfg *config.Config) *simulator {
	s := &simulator{cfg: cfg, policy: smtpd.Policy{TrustedNetworks: cfg.TrustedPrefixes()}}
	for _, sn := range cfg.ServiceNetworks() {
		s.policy.Services = append(s.policy.Services, smtpd.Service{Name: sn.Name, Networks: sn.Networks})
	}
	s.addLogins()
	return s
}

// submission is the state of one simulated case.
type submission struct {
	c       *Case
	local   bool // posthorn sendmail: no SMTP, always allowed to relay
	ip      netip.Addr
	trusted bool
	from    string
	msg     []byte        // the message, once data accepted it
	relay   []string      // recipients that are not on a list domain
	posts   []*lists.List // lists whose posting address is a recipient
	others  []listRcpt    // companion addresses of lists (-owner, -request, ...)
}

func (s *simulator) run(t *config.Test) Case {
	c := Case{Name: t.Name, Expected: Outcome{Outcome: t.Expect, Upstream: t.ExpectUpstream,
		Service: t.ExpectService, Code: t.ExpectCode, Rule: t.ExpectRule}}
	sub := &submission{c: &c}
	if t.ExpectRule != "" && !slices.Contains(lists.RuleOrder(), t.ExpectRule) {
		c.Err = fmt.Errorf("expect_rule %q is not a rule of the posting chain (%s)", t.ExpectRule,
			strings.Join(lists.RuleOrder(), ", "))
		return c
	}
	if s.client(t, sub) && s.envelope(t, sub) && s.data(t, sub) {
		if len(sub.relay) > 0 || len(sub.posts)+len(sub.others) == 0 {
			s.route(sub)
		}
		if len(sub.posts)+len(sub.others) > 0 {
			s.post(t, sub)
		}
	}
	c.Passed = c.Err == nil && matches(c.Expected, c.Actual)
	return c
}

// refuse ends the case with a refusal at stage.
func (sub *submission) refuse(stage, key string, e *smtp.SMTPError) {
	r := sub.fail(e)
	sub.c.Trail.Add(stage, key, "refused: %s", r)
}

// fail sets the outcome of the case to the refusal e.
func (sub *submission) fail(e *smtp.SMTPError) *smtperr.Error {
	r := &smtperr.Error{Code: e.Code, Enhanced: [3]int(e.EnhancedCode), Message: e.Message}
	sub.c.Actual.Outcome, sub.c.Actual.Code, sub.c.Reply = Refused, r.Code, r
	return r
}

// client decides where the submission comes from, whether it may relay
// and which service it belongs to.
func (s *simulator) client(t *config.Test, sub *submission) bool {
	tr := &sub.c.Trail
	user := t.User
	switch {
	case t.User != "":
		tr.Add("client", "", "posthorn sendmail run by Unix user %s", t.User)
	case t.Service != "":
		j := slices.IndexFunc(s.cfg.Services, func(svc config.Service) bool { return svc.Name == t.Service })
		if j < 0 {
			sub.c.Err = fmt.Errorf("service %q is not a [[service]] name", t.Service)
			return false
		}
		svc := s.cfg.Services[j]
		switch {
		case len(svc.Networks) > 0:
			p, err := netip.ParsePrefix(svc.Networks[0])
			if err != nil {
				sub.c.Err = fmt.Errorf("service[%d].networks[0]: %v", j, err)
				return false
			}
			sub.ip = firstHost(p)
			tr.Add("client", fmt.Sprintf("service[%d].networks[0]", j), "SMTP client %s, the first host of service %s's network %s",
				sub.ip, svc.Name, p)
		case len(svc.Users) > 0:
			user = svc.Users[0]
			tr.Add("client", fmt.Sprintf("service[%d].users[0]", j), "posthorn sendmail run by Unix user %s, the first user of service %s",
				user, svc.Name)
		default:
			sub.c.Err = fmt.Errorf("service %q has neither networks nor users to submit from", t.Service)
			return false
		}
	default:
		client, note := t.Client, ""
		if client == "" {
			client, note = "127.0.0.1", " (the default client)"
		}
		ip, err := netip.ParseAddr(client)
		if err != nil {
			sub.c.Err = fmt.Errorf("client %q is not an IP address", client)
			return false
		}
		sub.ip = ip.Unmap()
		tr.Add("client", "", "SMTP client %s%s", sub.ip, note)
	}
	if user != "" {
		sub.local, sub.trusted = true, true
		tr.Add("trust", "", "local submission: may relay")
		sub.c.Actual.Service = s.cfg.ServiceForUser(user)
		if key := s.userKey(user); key != "" {
			tr.Add("service", key, "%s lists Unix user %s", sub.c.Actual.Service, user)
		} else {
			tr.Add("service", "", "%s: no [[service]] lists Unix user %s, so it is named after the user", sub.c.Actual.Service, user)
		}
		return true
	}
	sub.trusted = s.policy.Trusted(sub.ip)
	if i := s.trustedIndex(sub.ip); i >= 0 {
		tr.Add("trust", fmt.Sprintf("smtp.trusted_networks[%d]", i), "trusted: %s is in %s", sub.ip, s.cfg.SMTP.TrustedNetworks[i])
	} else {
		tr.Add("trust", "smtp.trusted_networks", "not trusted: %s is in none of %s", sub.ip, list(s.cfg.SMTP.TrustedNetworks))
	}
	sub.c.Actual.Service = s.policy.ServiceOf(sub.ip)
	if key, network := s.serviceKey(sub.ip); key != "" {
		tr.Add("service", key, "%s: %s is in %s", sub.c.Actual.Service, sub.ip, network)
	} else {
		tr.Add("service", "", "%s: no [[service]] network contains %s", sub.c.Actual.Service, sub.ip)
	}
	return t.Login == "" || s.login(t.Login, sub)
}

// envelope checks the sender and each recipient.
func (s *simulator) envelope(t *config.Test, sub *submission) bool {
	tr := &sub.c.Trail
	from := t.From
	if from == "" {
		from = "test@" + s.cfg.Hostname
	}
	if e := smtpd.CheckSender(from); e != nil {
		sub.refuse("mail", "test.from", e)
		return false
	}
	tr.Add("mail", "", "sender <%s> accepted", from)
	sub.from = from
	var first *smtp.SMTPError
	accepted := 0
	max := s.cfg.SMTP.MaxRecipients
	for _, to := range t.To {
		var e *smtp.SMTPError
		key := ""
		if !sub.local && max > 0 && accepted >= max {
			e = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3},
				Message: fmt.Sprintf("Maximum limit of %d recipients reached", max)}
			key = "smtp.max_recipients"
		} else if s.cfg.IsListDomain(domainOf(to)) {
			e, key = s.listRcpt(sub, to)
		} else if e = smtpd.CheckRcpt(sub.trusted, to); e != nil && e.Code == 554 {
			key = "smtp.trusted_networks"
		} else if e == nil {
			sub.relay = append(sub.relay, to)
		}
		if e != nil {
			tr.Add("rcpt", key, "<%s> refused: %d %d.%d.%d %s", to, e.Code,
				e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], e.Message)
			if first == nil {
				first = e
			}
			continue
		}
		accepted++
		tr.Add("rcpt", "", "<%s> accepted", to)
	}
	if first != nil {
		sub.fail(first) // each refusal is a step already
		return false
	}
	return true
}

// data checks the message: size, header section, loop count.
func (s *simulator) data(t *config.Test, sub *submission) bool {
	tr := &sub.c.Trail
	limit := int64(s.cfg.SMTP.MaxMessageSize)
	msg, err := s.message(t, limit)
	if err != nil {
		sub.c.Err = err
		return false
	}
	if limit > 0 && int64(len(msg)) > limit {
		sub.refuse("data", "smtp.max_message_size", smtp.ErrDataTooLarge)
		return false
	}
	h, err := msghdr.Read(bufio.NewReader(bytes.NewReader(msg)), maxHeaderSize)
	if errors.Is(err, msghdr.ErrHeaderTooLarge) {
		sub.refuse("data", "", &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
			Message: "Header section exceeds fixed limit"})
		return false
	}
	if err != nil {
		sub.c.Err = fmt.Errorf("reading the message: %w", err)
		return false
	}
	if max := s.cfg.SMTP.MaxReceivedHeaders; h.Received > max {
		sub.refuse("data", "smtp.max_received_headers", &smtp.SMTPError{Code: 554,
			EnhancedCode: smtp.EnhancedCode{5, 4, 6}, Message: "Too many hops: mail loop detected"})
		return false
	}
	tr.Add("data", "", "message of %d bytes with %d Received: fields (at most %d) accepted",
		len(msg), h.Received, s.cfg.SMTP.MaxReceivedHeaders)
	sub.msg = msg
	return true
}

// route decides the first upstream and the failover order for the
// recipients that are not on a list domain.
func (s *simulator) route(sub *submission) {
	c := sub.c
	c.Actual.Outcome, c.Actual.Code = Relayed, 250
	if ups := s.cfg.Delivery.Upstreams; len(ups) > 0 {
		c.Route = slices.Clone(ups)
		c.Actual.Upstream = ups[0]
		modes := make([]string, len(ups))
		for i, u := range ups {
			modes[i] = u + " (TLS " + s.cfg.UpstreamTLSMode(u) + ")"
		}
		c.Trail.Add("route", "delivery.upstreams", "upstreams in failover order: %s", strings.Join(modes, " then "))
		return
	}
	c.Route = []string{Direct}
	c.Actual.Upstream = Direct
	var domains []string
	for _, to := range sub.relay {
		if _, d, ok := strings.Cut(to, "@"); ok && !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	c.Trail.Add("route", "delivery.upstreams", "no upstreams: direct delivery to the MX of %s on port %d (TLS %s)",
		strings.Join(domains, ", "), s.cfg.Delivery.MXPort, s.cfg.Delivery.TLS)
}

// message returns the case's message with CRLF line ends: inline, from
// message_file (at most limit+1 bytes are read), or a minimal one.
func (s *simulator) message(t *config.Test, limit int64) ([]byte, error) {
	var raw []byte
	switch {
	case t.MessageFile != "":
		f, err := os.Open(t.MessageFile)
		if err != nil {
			return nil, fmt.Errorf("message_file: %w", err)
		}
		defer f.Close()
		if limit <= 0 {
			limit = 1 << 30
		}
		raw, err = io.ReadAll(io.LimitReader(f, limit+1))
		if err != nil {
			return nil, fmt.Errorf("message_file: %w", err)
		}
	case t.Message != "":
		raw = []byte(t.Message)
	default:
		from := t.From
		if from == "" {
			from = "test@" + s.cfg.Hostname
		}
		raw = fmt.Appendf(nil, "From: <%s>\nTo: %s\nSubject: Posthorn configuration test %q\n\nThis message tests the configuration.\n",
			from, "<"+strings.Join(t.To, ">, <")+">", t.Name)
	}
	return crlf(raw), nil
}

// crlf turns bare LF line ends into CRLF, as SMTP carries them.
func crlf(b []byte) []byte {
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// firstHost is the first host address of p: the address after the
// network address, unless p is a single address or a pair.
func firstHost(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if p.Bits() < a.BitLen()-1 {
		a = a.Next()
	}
	return a
}

// trustedIndex is the index of the first trusted network containing ip,
// or -1.
func (s *simulator) trustedIndex(ip netip.Addr) int {
	for i, n := range s.cfg.SMTP.TrustedNetworks {
		if p, err := netip.ParsePrefix(n); err == nil && p.Contains(ip) {
			return i
		}
	}
	return -1
}

// serviceKey names the first service network containing ip.
func (s *simulator) serviceKey(ip netip.Addr) (key, network string) {
	for i, svc := range s.cfg.Services {
		for j, n := range svc.Networks {
			if p, err := netip.ParsePrefix(n); err == nil && p.Contains(ip) {
				return fmt.Sprintf("service[%d].networks[%d]", i, j), n
			}
		}
	}
	return "", ""
}

// userKey names the first service entry listing user.
func (s *simulator) userKey(user string) string {
	for i, svc := range s.cfg.Services {
		if j := slices.Index(svc.Users, user); j >= 0 {
			return fmt.Sprintf("service[%d].users[%d]", i, j)
		}
	}
	return ""
}

// matches reports whether actual meets every expectation that is set.
func matches(exp, act Outcome) bool {
	return exp.Outcome == act.Outcome &&
		(exp.Rule == "" || slices.Contains(strings.Split(act.Rule, ","), exp.Rule)) &&
		(exp.Upstream == "" || exp.Upstream == act.Upstream) &&
		(exp.Service == "" || exp.Service == act.Service) &&
		(exp.Code == 0 || exp.Code == act.Code)
}

func list(items []string) string {
	if len(items) == 0 {
		return "[] (empty)"
	}
	return "[" + strings.Join(items, ", ") + "]"
}
