package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/netip"
	"slices"

	"github.com/pelletier/go-toml/v2"
)

// TrustedPrefixes returns smtp.trusted_networks as prefixes. Entries that do
// not parse are left out; Validate reports them.
func (c *Config) TrustedPrefixes() []netip.Prefix {
	prefixes := make([]netip.Prefix, 0, len(c.SMTP.TrustedNetworks))
	for _, n := range c.SMTP.TrustedNetworks {
		if p, err := parsePrefix(n); err == nil {
			prefixes = append(prefixes, p)
		}
	}
	return prefixes
}

// ServiceNetwork is a service and its client networks, parsed.
type ServiceNetwork struct {
	Name     string
	Networks []netip.Prefix
}

// ServiceNetworks returns the [[service]] entries with parsed networks, in
// order (the first match wins).
func (c *Config) ServiceNetworks() []ServiceNetwork {
	out := make([]ServiceNetwork, 0, len(c.Services))
	for _, s := range c.Services {
		sn := ServiceNetwork{Name: s.Name}
		for _, n := range s.Networks {
			if p, err := parsePrefix(n); err == nil {
				sn.Networks = append(sn.Networks, p)
			}
		}
		out = append(out, sn)
	}
	return out
}

// ServiceForUser returns the service of a posthorn sendmail submission by
// the Unix user: the first [[service]] listing the user, else the user name.
func (c *Config) ServiceForUser(user string) string {
	for _, s := range c.Services {
		if slices.Contains(s.Users, user) {
			return s.Name
		}
	}
	if user == "" {
		return "unknown"
	}
	return user
}

// UpstreamTLSMode returns the STARTTLS mode for the upstream at addr
// ("host" or "host:port", port 25 when none is given): its entry in
// delivery.upstream_tls, or delivery.tls.
func (c *Config) UpstreamTLSMode(addr string) string {
	if norm, err := normalizeUpstream(addr); err == nil {
		if mode, ok := c.Delivery.UpstreamTLS[norm]; ok {
			return mode
		}
		// The map may not be normalised when c was built in code.
		for k, mode := range c.Delivery.UpstreamTLS {
			if n, err := normalizeUpstream(k); err == nil && n == norm {
				return mode
			}
		}
	}
	return c.Delivery.TLS
}

// Fingerprint returns the hex SHA-256 of a canonical encoding of c: two
// configurations that mean the same (after Load's normalisation) have the
// same fingerprint, whatever the order, spacing or comments of their files.
func (c *Config) Fingerprint() string {
	// encoding/json writes struct fields in declaration order and map keys
	// sorted, and Duration and Size through MarshalText: a canonical form.
	data, err := json.Marshal(c)
	if err != nil {
		// Cannot happen: every field is a string, number, list or map of
		// strings. Fingerprint the error so that the result stays defined.
		data = []byte(err.Error())
	}
	sum := sha256.Sum256(append([]byte("posthorn-config-v1\n"), data...))
	return hex.EncodeToString(sum[:])
}

// Redacted returns a deep copy of c that is safe to show: secrets, when the
// configuration has any, are replaced: the path and query of
// alerts.webhook_url and the services' auth_password_hash.
func (c *Config) Redacted() *Config {
	r := *c
	r.SMTP.Listen = slices.Clone(c.SMTP.Listen)
	r.SMTP.TrustedNetworks = slices.Clone(c.SMTP.TrustedNetworks)
	r.HTTP.OperatorNetworks = slices.Clone(c.HTTP.OperatorNetworks)
	r.SMTP.ImplicitTLSListen = slices.Clone(c.SMTP.ImplicitTLSListen)
	r.Delivery.Upstreams = slices.Clone(c.Delivery.Upstreams)
	r.Delivery.UpstreamTLS = maps.Clone(c.Delivery.UpstreamTLS)
	r.Delivery.RetrySchedule = slices.Clone(c.Delivery.RetrySchedule)
	r.TestFiles = slices.Clone(c.TestFiles)
	r.Lists.Domains = slices.Clone(c.Lists.Domains)
	r.DKIM = slices.Clone(c.DKIM)
	r.Services = make([]Service, len(c.Services))
	for i, s := range c.Services {
		s.Networks, s.Users = slices.Clone(s.Networks), slices.Clone(s.Users)
		if s.AuthPasswordHash != "" {
			s.AuthPasswordHash = "(redacted)"
		}
		r.Services[i] = s
	}
	r.Tests = make([]Test, len(c.Tests))
	for i, t := range c.Tests {
		t.To = slices.Clone(t.To)
		r.Tests[i] = t
	}
	if r.Alerts.WebhookURL != "" {
		r.Alerts.WebhookURL = redactURL(r.Alerts.WebhookURL)
	}
	return &r
}

// TOML returns c as a TOML document with every key; Parse reads it back to
// the same configuration.
func (c *Config) TOML() ([]byte, error) {
	return toml.Marshal(c)
}
