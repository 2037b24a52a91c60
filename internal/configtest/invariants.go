package configtest

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/smtpd"
)

// Names of the built-in invariants.
const (
	NoOpenRelay       = "no-open-relay"
	ServicesCanRelay  = "services-can-relay"
	LocalSubmission   = "local-submission"
	DeliveryPossible  = "delivery-possible"
	HostnameQualified = "hostname-qualified"
)

// outsideProbes are clients that no configuration should trust: in the
// documentation ranges of RFC 5737 and RFC 3849.
func outsideProbes() []string {
	return []string{"192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1"}
}

// Builtin returns the invariants that every configuration must pass.
func Builtin() []Invariant {
	return []Invariant{
		{Name: NoOpenRelay, Severity: Failure, Check: checkOpenRelay},
		{Name: ServicesCanRelay, Severity: Failure, Check: checkServicesRelay},
		{Name: LocalSubmission, Severity: Warning, Check: checkLocalSubmission},
		{Name: DeliveryPossible, Severity: Failure, Check: checkDelivery},
		{Name: HostnameQualified, Severity: Warning, Check: checkHostname},
		{Name: ListMembersCanPost, Severity: Warning, Check: checkListMembers},
	}
}

func policyOf(cfg *config.Config) *smtpd.Policy {
	return &newSimulator(cfg).policy
}

// checkOpenRelay: a client outside every network anyone would trust is
// refused 554 for an outside recipient, and no trusted network is the
// whole address space.
func checkOpenRelay(cfg *config.Config, _ Env) []string {
	var problems []string
	for i, n := range cfg.SMTP.TrustedNetworks {
		if p, err := netip.ParsePrefix(n); err == nil && p.Bits() == 0 {
			problems = append(problems, fmt.Sprintf("smtp.trusted_networks[%d] %s trusts every client: anyone may relay", i, n))
		}
	}
	sim := newSimulator(cfg)
	for _, probe := range outsideProbes() {
		ip := netip.MustParseAddr(probe)
		e := smtpd.CheckRcpt(sim.policy.Trusted(ip), "postmaster@example.com")
		if e != nil && e.Code == 554 {
			continue
		}
		if i := sim.trustedIndex(ip); i >= 0 {
			if p, err := netip.ParsePrefix(cfg.SMTP.TrustedNetworks[i]); err == nil && p.Bits() == 0 {
				continue // reported above
			}
			problems = append(problems, fmt.Sprintf("client %s (a documentation address, outside any real network) may relay: smtp.trusted_networks[%d] %s contains it",
				probe, i, cfg.SMTP.TrustedNetworks[i]))
		} else {
			problems = append(problems, fmt.Sprintf("client %s (a documentation address, outside any real network) may relay", probe))
		}
	}
	return problems
}

// checkServicesRelay: every service defined by networks can relay from
// them; otherwise its mail would be refused 554.
func checkServicesRelay(cfg *config.Config, _ Env) []string {
	p := policyOf(cfg)
	var problems []string
	for i, svc := range cfg.Services {
		for j, n := range svc.Networks {
			pfx, err := netip.ParsePrefix(n)
			if err != nil {
				continue
			}
			first, last := firstHost(pfx), lastAddr(pfx)
			switch {
			case !p.Trusted(first):
				problems = append(problems, fmt.Sprintf("service %s: service[%d].networks[%d] %s is not in smtp.trusted_networks: its mail from %s is refused 554",
					svc.Name, i, j, n, first))
			case !p.Trusted(last):
				problems = append(problems, fmt.Sprintf("service %s: service[%d].networks[%d] %s is only partly in smtp.trusted_networks: its mail from %s is refused 554",
					svc.Name, i, j, n, last))
			}
		}
	}
	return problems
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for bit := p.Bits(); bit < len(b)*8; bit++ {
		b[bit/8] |= 1 << (7 - bit%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// checkLocalSubmission: programs on this host can submit by SMTP.
func checkLocalSubmission(cfg *config.Config, _ Env) []string {
	p := policyOf(cfg)
	var missing []string
	for _, a := range []string{"127.0.0.1", "::1"} {
		if !p.Trusted(netip.MustParseAddr(a)) {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	verb := "is"
	if len(missing) > 1 {
		verb = "are"
	}
	return []string{fmt.Sprintf("%s %s not in smtp.trusted_networks: local programs cannot relay by SMTP (posthorn sendmail still can)",
		strings.Join(missing, " and "), verb)}
}

// checkDelivery: mail can leave in principle: through upstreams or by
// direct MX delivery, with certificates to verify where TLS is required.
func checkDelivery(cfg *config.Config, env Env) []string {
	var problems []string
	d := &cfg.Delivery
	roots := func() bool { return d.TLSCAFile != "" || env.SystemRoots() }
	if len(d.Upstreams) == 0 {
		if d.MXPort < 1 || d.MXPort > 65535 {
			problems = append(problems, fmt.Sprintf("no upstreams and delivery.mx_port %d is not a port: mail cannot leave", d.MXPort))
		}
		if d.TLS == config.TLSRequired && !roots() {
			problems = append(problems, "direct delivery requires TLS (delivery.tls) but there is no delivery.tls_ca_file and the system certificate roots cannot be loaded")
		}
		return problems
	}
	for i, u := range d.Upstreams {
		if cfg.UpstreamTLSMode(u) == config.TLSRequired && !roots() {
			problems = append(problems, fmt.Sprintf("delivery.upstreams[%d] %s requires TLS but there is no delivery.tls_ca_file and the system certificate roots cannot be loaded", i, u))
		}
	}
	return problems
}

// checkHostname: the name given in HELO and Received: fields is a fully
// qualified name, not localhost.
func checkHostname(cfg *config.Config, _ Env) []string {
	h := strings.ToLower(strings.TrimSuffix(cfg.Hostname, "."))
	switch {
	case h == "localhost" || strings.HasPrefix(h, "localhost."):
		return []string{fmt.Sprintf("hostname is %q: upstreams and receivers see it in HELO and Received: fields; set hostname to this host's public name", cfg.Hostname)}
	case !strings.Contains(h, "."):
		return []string{fmt.Sprintf("hostname %q is not fully qualified: receivers may refuse its HELO; set hostname", cfg.Hostname)}
	}
	return nil
}
