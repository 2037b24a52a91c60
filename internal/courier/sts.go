package courier

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"

	"github.com/posthorn/posthorn/internal/mtasts"
	"github.com/posthorn/posthorn/internal/smtperr"
)

// MTA-STS (RFC 8461) in direct delivery. Relays are not affected.
//
// Before the MX hosts of a recipient domain are tried, Options.MTASTS is
// asked for the domain's policy:
//
//	no policy, mode none, lookup failed ─▶ as without MTA-STS
//	testing ─▶ every MX host, TLS as configured; an MX host outside the
//	           policy, a missing STARTTLS, a failed handshake or a
//	           certificate not valid for the MX host name is logged
//	           ("MTA-STS testing: ...") and delivery goes on as usual
//	enforce ─▶ only the MX hosts the policy matches, each with STARTTLS
//	           and a certificate valid for the MX host name (TLSRequired,
//	           whatever Options.DirectTLS says); a failure moves on to the
//	           next matching host and leaves the recipients deferred
//	           (TLSError, temporary), never plaintext. No matching host at
//	           all defers them with 451 4.4.4.
//
// Result.MTASTS names the mode that applied.

// PolicySource looks up a domain's MTA-STS policy; *mtasts.Cache is one.
// A zero Policy means none; an error means none could be discovered, and
// delivery goes on without one (RFC 8461 section 5.1).
type PolicySource interface {
	Lookup(ctx context.Context, domain string) (mtasts.Policy, error)
}

// tlsSTSTesting is the TLS mode of MX hosts under a testing policy:
// opportunistic, with verification failures reported instead of enforced.
const tlsSTSTesting = "sts-testing"

// opportunistic reports whether a TLS mode falls back to plaintext.
func opportunistic(mode string) bool { return mode == TLSOpportunistic || mode == tlsSTSTesting }

// stsPolicy returns the policy that applies to domain, zero when none.
func (c *Courier) stsPolicy(ctx context.Context, m *Message, domain string) mtasts.Policy {
	if c.opts.MTASTS == nil {
		return mtasts.Policy{}
	}
	p, err := c.opts.MTASTS.Lookup(ctx, domain)
	if err != nil {
		c.log.LogAttrs(ctx, slogWarn, "MTA-STS policy unavailable; delivering without it",
			attrQueueID(m.ID), attrDomain(domain), attrErr(err))
		return mtasts.Policy{}
	}
	if !p.Applies() {
		return mtasts.Policy{}
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "MTA-STS policy applies",
		attrQueueID(m.ID), attrDomain(domain), slog.String("mode", string(p.Mode)), slog.String("policy_id", p.ID))
	return p
}

// stsHosts applies policy p to the MX hosts of domain and returns the hosts
// to try and their TLS mode.
func (c *Courier) stsHosts(ctx context.Context, m *Message, domain string, p mtasts.Policy, hosts []string) ([]string, string, error) {
	switch p.Mode {
	case mtasts.ModeEnforce:
		var kept []string
		for _, h := range hosts {
			if p.Match(h) {
				kept = append(kept, h)
				continue
			}
			c.log.LogAttrs(ctx, slogWarn, "MTA-STS enforce: skipping MX host not in the policy",
				attrQueueID(m.ID), attrDomain(domain), slog.String("mx", h), slog.String("policy_id", p.ID))
		}
		if len(kept) == 0 {
			return nil, "", smtperr.New(451, [3]int{4, 4, 4},
				"no MX host of %s matches its MTA-STS policy (id %s)", domain, p.ID)
		}
		return kept, TLSRequired, nil
	case mtasts.ModeTesting:
		for _, h := range hosts {
			if !p.Match(h) {
				c.log.LogAttrs(ctx, slogWarn, "MTA-STS testing: MX host not in the policy",
					attrQueueID(m.ID), attrDomain(domain), slog.String("mx", h), slog.String("policy_id", p.ID))
			}
		}
		if c.opts.DirectTLS == TLSOpportunistic {
			return hosts, tlsSTSTesting, nil
		}
	}
	return hosts, c.opts.DirectTLS, nil
}

// stsTestingFailure logs what would have failed t under an enforce policy.
func (c *Courier) stsTestingFailure(ctx context.Context, t target, err error) {
	c.log.LogAttrs(ctx, slogWarn, "MTA-STS testing: TLS requirement not met; delivering anyway",
		slog.String("mx", t.name), attrAddr(t.addr), attrErr(err))
}

// stsTestingVerify returns a VerifyConnection callback that checks the
// certificate as an enforce policy would, and only reports a failure.
func (c *Courier) stsTestingVerify(t target) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			c.stsTestingFailure(context.Background(), t, errors.New("no certificate"))
			return nil
		}
		inter := x509.NewCertPool()
		for _, ic := range cs.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			DNSName:       t.name,
			Roots:         c.opts.RootCAs,
			Intermediates: inter,
		})
		if err != nil {
			c.stsTestingFailure(context.Background(), t, err)
		}
		return nil
	}
}
