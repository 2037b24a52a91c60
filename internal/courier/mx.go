package courier

import (
	"context"
	"errors"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/mtasts"
	"github.com/posthorn/posthorn/internal/smtperr"
)

// deliverDirect groups the recipients by domain and delivers each group to
// the domain's mail exchangers.
func (c *Courier) deliverDirect(ctx context.Context, m *Message, idx []int, res []Result) {
	var order []string
	groups := make(map[string][]int)
	for _, i := range idx {
		at := strings.LastIndexByte(m.Rcpts[i], '@')
		if at < 0 || at == len(m.Rcpts[i])-1 {
			res[i].Err = smtperr.New(550, [3]int{5, 1, 3}, "recipient %q has no domain", m.Rcpts[i])
			continue
		}
		d := strings.ToLower(strings.TrimSuffix(m.Rcpts[i][at+1:], "."))
		if _, ok := groups[d]; !ok {
			order = append(order, d)
		}
		groups[d] = append(groups[d], i)
	}
	for _, d := range order {
		if ctx.Err() != nil {
			for _, i := range groups[d] {
				res[i].Err = &ConnError{Addr: d, Stage: "not attempted", Err: ctx.Err()}
			}
			continue
		}
		pol := c.stsPolicy(ctx, m, d)
		for _, i := range groups[d] {
			res[i].MTASTS = string(pol.Mode)
		}
		targets, err := c.mxTargets(ctx, m, d, pol)
		if err != nil {
			c.log.LogAttrs(ctx, slogWarn, "mail exchanger lookup failed",
				attrQueueID(m.ID), attrDomain(d), attrErr(err))
			for _, i := range groups[d] {
				res[i].Err = err
			}
			continue
		}
		c.tryTargets(ctx, m, targets, groups[d], res)
	}
}

// mxTargets returns the addresses to try for domain, best first: MX hosts
// by preference (ties by name), each host's addresses in resolver order;
// or the domain's own addresses when it has no MX records (RFC 5321
// section 5.1).
//
// The resolver does not tell "no MX records" from "no such domain"; both
// are IsNotFound. So a domain without MX falls back to its addresses, and
// only when those are not found either is it a permanent failure (5.1.2).
// A null MX (RFC 7505) is permanent (5.1.10); anything else that goes wrong
// in DNS is temporary (4.4.3).
//
// An MTA-STS policy pol (zero for none) then filters the hosts and sets
// their TLS mode (stsHosts); the domain itself, when it has no MX, is
// filtered like an MX host.
func (c *Courier) mxTargets(ctx context.Context, m *Message, domain string, pol mtasts.Policy) ([]target, error) {
	mxs, err := c.opts.Resolver.LookupMX(ctx, domain)
	var hosts []string
	implicit := false
	switch {
	case err != nil && !isNotFound(err):
		return nil, smtperr.New(451, [3]int{4, 4, 3}, "looking up MX for %s: %v", domain, err)
	case err != nil || len(mxs) == 0:
		hosts, implicit = []string{domain}, true
	default:
		sort.SliceStable(mxs, func(i, j int) bool {
			if mxs[i].Pref != mxs[j].Pref {
				return mxs[i].Pref < mxs[j].Pref
			}
			return mxs[i].Host < mxs[j].Host
		})
		for _, mx := range mxs {
			if h := strings.TrimSuffix(mx.Host, "."); h != "" {
				hosts = append(hosts, strings.ToLower(h))
			}
		}
		if len(hosts) == 0 {
			return nil, smtperr.New(556, [3]int{5, 1, 10}, "domain %s does not accept mail (null MX)", domain)
		}
	}

	hosts, tlsMode, err := c.stsHosts(ctx, m, domain, pol, hosts)
	if err != nil {
		return nil, err
	}

	port := strconv.Itoa(c.opts.MXPort)
	var targets []target
	var lastErr error
	allNotFound := true
	for _, h := range hosts {
		addrs, err := c.opts.Resolver.LookupIPAddr(ctx, h)
		if err != nil {
			lastErr = err
			allNotFound = allNotFound && isNotFound(err)
			continue
		}
		for _, a := range addrs {
			if a.IP == nil || a.IP.IsUnspecified() {
				continue
			}
			targets = append(targets, target{
				addr:  net.JoinHostPort(a.IP.String(), port),
				name:  h,
				label: net.JoinHostPort(h, port),
				tls:   tlsMode,
			})
		}
	}
	if len(targets) > 0 {
		return targets, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no usable addresses")
	}
	if implicit && allNotFound {
		return nil, smtperr.New(550, [3]int{5, 1, 2}, "domain %s has no MX or address records", domain)
	}
	return nil, smtperr.New(451, [3]int{4, 4, 3}, "resolving mail hosts of %s: %v", domain, lastErr)
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
