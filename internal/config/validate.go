package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// TLS modes for delivery.tls and delivery.upstream_tls.
const (
	TLSNone          = "none"
	TLSOpportunistic = "opportunistic"
	TLSRequired      = "required"
)

// Validate checks every value of c and returns all problems found, or nil.
// Keys in the problems are dotted config keys; Line and File are left for
// Parse to fill in.
//
// Validate also normalises c in place, so that equal settings compare and
// fingerprint equal: trusted networks become canonical prefixes
// ("10.1.2.3/8" → "10.0.0.0/8", "::1" → "::1/128"), upstreams and the keys
// of upstream_tls get a port (":25" when none is given) and a lower-case
// host, data_dir is cleaned and nil lists become empty. Validate is
// idempotent.
func (c *Config) Validate() Errors {
	var errs Errors
	if !validDomain(c.Hostname) {
		errs.add("hostname", "%q is not a valid domain name", c.Hostname)
	}
	if !filepath.IsAbs(c.DataDir) {
		errs.add("data_dir", "must be an absolute path, is %q", c.DataDir)
	} else {
		c.DataDir = filepath.Clean(c.DataDir)
	}
	oneOf(&errs, "spool_sync", c.SpoolSync, "file", "filesystem", "journal")
	oneOf(&errs, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(&errs, "log.format", c.Log.Format, "json", "text")
	c.SMTP.validate(&errs)
	if c.HTTP.Listen != "" {
		if msg := checkListen(c.HTTP.Listen); msg != "" {
			errs.add("http.listen", "%s", msg)
		}
	}
	c.HTTP.OperatorNetworks = nonNil(c.HTTP.OperatorNetworks)
	for i, n := range c.HTTP.OperatorNetworks {
		p, err := parsePrefix(n)
		if err != nil {
			errs.add(indexKey("http.operator_networks", i), "%v", err)
			continue
		}
		c.HTTP.OperatorNetworks[i] = p.String()
	}
	c.Delivery.validate(&errs)
	c.validateObserve(&errs)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func (s *SMTP) validate(errs *Errors) {
	s.Listen = nonNil(s.Listen)
	seen := make(map[string]string)
	for i, addr := range s.Listen {
		key := indexKey("smtp.listen", i)
		if msg := checkListen(addr); msg != "" {
			errs.add(key, "%s", msg)
		} else if other, dup := seen[addr]; dup {
			errs.add(key, "%q is listed twice (also %s)", addr, other)
		}
		seen[addr] = key
	}
	s.TrustedNetworks = nonNil(s.TrustedNetworks)
	for i, n := range s.TrustedNetworks {
		p, err := parsePrefix(n)
		if err != nil {
			errs.add(indexKey("smtp.trusted_networks", i), "%v", err)
			continue
		}
		s.TrustedNetworks[i] = p.String()
	}
	positive(errs, "smtp.max_message_size", int64(s.MaxMessageSize), s.MaxMessageSize.String())
	positive(errs, "smtp.max_recipients", int64(s.MaxRecipients), strconv.Itoa(s.MaxRecipients))
	if s.MaxLineLength < 1000 {
		errs.add("smtp.max_line_length", "must be at least 1000 (RFC 5321 allows lines of 1000 bytes), is %d", s.MaxLineLength)
	}
	positive(errs, "smtp.max_received_headers", int64(s.MaxReceivedHeaders), strconv.Itoa(s.MaxReceivedHeaders))
	positive(errs, "smtp.max_connections", int64(s.MaxConnections), strconv.Itoa(s.MaxConnections))
	positive(errs, "smtp.read_timeout", int64(s.ReadTimeout), s.ReadTimeout.String())
	positive(errs, "smtp.write_timeout", int64(s.WriteTimeout), s.WriteTimeout.String())
	positive(errs, "smtp.max_session_time", int64(s.MaxSessionTime), s.MaxSessionTime.String())
	s.validateSecurity(errs, seen)
}

func (d *Delivery) validate(errs *Errors) {
	d.Upstreams = nonNil(d.Upstreams)
	seen := make(map[string]string)
	for i, u := range d.Upstreams {
		key := indexKey("delivery.upstreams", i)
		norm, err := normalizeUpstream(u)
		if err != nil {
			errs.add(key, "%v", err)
			continue
		}
		if other, dup := seen[norm]; dup {
			errs.add(key, "%q is the same upstream as %s", u, other)
		}
		seen[norm] = key
		d.Upstreams[i] = norm
	}
	oneOf(errs, "delivery.tls", d.TLS, TLSNone, TLSOpportunistic, TLSRequired)
	d.validateUpstreamTLS(errs, seen)
	if d.TLSCAFile != "" {
		if msg := checkCAFile(d.TLSCAFile); msg != "" {
			errs.add("delivery.tls_ca_file", "%s", msg)
		}
	}
	if len(d.RetrySchedule) == 0 {
		errs.add("delivery.retry_schedule", "must list at least one step")
	}
	for i, step := range d.RetrySchedule {
		positive(errs, indexKey("delivery.retry_schedule", i), int64(step), step.String())
	}
	positive(errs, "delivery.max_lifetime", int64(d.MaxLifetime), d.MaxLifetime.String())
	if d.DelayWarning < 0 {
		errs.add("delivery.delay_warning", "must not be negative (0 disables), is %s", d.DelayWarning)
	} else if d.MaxLifetime > 0 && d.DelayWarning >= d.MaxLifetime {
		p := errs.add("delivery.delay_warning", "must be less than delivery.max_lifetime (%s), is %s", d.MaxLifetime, d.DelayWarning)
		p.alt = &Problem{Key: "delivery.max_lifetime", Msg: fmt.Sprintf("must be greater than delivery.delay_warning (%s), is %s", d.DelayWarning, d.MaxLifetime)}
	}
	if d.Concurrency < 1 || d.Concurrency > 1000 {
		errs.add("delivery.concurrency", "must be from 1 to 1000, is %d", d.Concurrency)
	}
	for _, t := range []struct {
		key string
		v   Duration
	}{
		{"delivery.connect_timeout", d.ConnectTimeout},
		{"delivery.command_timeout", d.CommandTimeout},
		{"delivery.data_timeout", d.DataTimeout},
		{"delivery.idle_timeout", d.IdleTimeout},
		{"delivery.down_backoff", d.DownBackoff},
		{"delivery.down_backoff_max", d.DownBackoffMax},
		{"delivery.shutdown_grace", d.ShutdownGrace},
	} {
		positive(errs, t.key, int64(t.v), t.v.String())
	}
	if d.DownBackoff > 0 && d.DownBackoffMax > 0 && d.DownBackoffMax < d.DownBackoff {
		p := errs.add("delivery.down_backoff_max", "must not be less than delivery.down_backoff (%s), is %s", d.DownBackoff, d.DownBackoffMax)
		p.alt = &Problem{Key: "delivery.down_backoff", Msg: fmt.Sprintf("must not be greater than delivery.down_backoff_max (%s), is %s", d.DownBackoffMax, d.DownBackoff)}
	}
	positive(errs, "delivery.max_idle_per_host", int64(d.MaxIdlePerHost), strconv.Itoa(d.MaxIdlePerHost))
	if d.MXPort < 1 || d.MXPort > 65535 {
		errs.add("delivery.mx_port", "must be from 1 to 65535, is %d", d.MXPort)
	}
}

// validateUpstreamTLS checks the per-upstream TLS modes against the
// normalised upstreams and rewrites the map with normalised keys.
func (d *Delivery) validateUpstreamTLS(errs *Errors, upstreams map[string]string) {
	keys := make([]string, 0, len(d.UpstreamTLS))
	for k := range d.UpstreamTLS {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	norm := make(map[string]string, len(d.UpstreamTLS))
	seen := make(map[string]string)
	for _, k := range keys {
		key := joinKey("delivery.upstream_tls", k)
		mode := d.UpstreamTLS[k]
		oneOf(errs, key, mode, TLSNone, TLSOpportunistic, TLSRequired)
		n, err := normalizeUpstream(k)
		switch {
		case err != nil:
			errs.add(key, "%v", err)
			continue
		case upstreams[n] == "":
			errs.add(key, "%q is not in delivery.upstreams", k)
		case seen[n] != "":
			errs.add(key, "%q is the same upstream as %s", k, seen[n])
		}
		seen[n] = key
		norm[n] = mode
	}
	d.UpstreamTLS = norm
}

func positive(errs *Errors, key string, v int64, text string) {
	if v <= 0 {
		errs.add(key, "must be greater than 0, is %s", text)
	}
}

func oneOf(errs *Errors, key, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		errs.add(key, "must be one of %s; is %q", quoteList(allowed), v)
	}
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkListen returns why addr is not a listen address, or "".
func checkListen(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("invalid address %q: must be host:port, such as \"127.0.0.1:25\"", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("invalid address %q: port must be a number from 0 to 65535", addr)
	}
	if host != "" && !validIP(host) && !validDomain(host) {
		return fmt.Sprintf("invalid address %q: %q is neither an IP address nor a host name", addr, host)
	}
	return ""
}

// normalizeUpstream returns an upstream as "host:port", lower case, with
// port 25 when none is given.
func normalizeUpstream(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), "25"
		if !validIP(host) && (strings.Contains(host, ":") || !validDomain(host)) {
			return "", fmt.Errorf("invalid upstream %q: must be \"host\" or \"host:port\"", s)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid upstream %q: port must be a number from 1 to 65535", s)
	}
	if !validIP(host) && !validDomain(host) {
		return "", fmt.Errorf("invalid upstream %q: %q is neither an IP address nor a host name", s, host)
	}
	return net.JoinHostPort(strings.ToLower(host), port), nil
}

// parsePrefix parses a CIDR prefix or a bare address (a /32 or /128) and
// returns it masked.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid network %q: must be a CIDR prefix such as \"10.0.0.0/8\" or an IP address", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid network %q: must be a CIDR prefix such as \"10.0.0.0/8\" or an IP address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validDomain reports whether s is a host name: dot-separated labels of
// letters, digits and inner hyphens, at most 253 bytes, the last label not
// all digits.
func validDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// maxCAFileSize bounds what checkCAFile reads: a CA bundle is a few
// hundred KiB at most.
const maxCAFileSize = 16 << 20

// checkCAFile returns why path is not a usable PEM bundle, or "".
func checkCAFile(path string) string {
	data, err := readRegular(path, maxCAFileSize)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Sprintf("cannot read %q: %v", path, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return fmt.Sprintf("%q contains no PEM certificate", path)
	}
	return ""
}

// readRegular reads the regular file at path, refusing devices, pipes and
// files larger than limit.
func readRegular(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("larger than %s", Size(limit))
	}
	return io.ReadAll(io.LimitReader(f, limit))
}
