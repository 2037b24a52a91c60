package config

import (
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Syslog facilities by name (RFC 5424 section 6.2.1).
var syslogFacilities = []string{"mail", "daemon", "user",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

func validateServices(errs *Errors, svcs []Service) {
	seen := make(map[string]string)
	logins := make(map[string]string)
	for i := range svcs {
		s := &svcs[i]
		key := indexKey("service", i)
		if !validServiceName(s.Name) {
			errs.add(key+".name", "%q is not a service name: use letters, digits, \"-\", \"_\" and \".\" (at most 64)", s.Name)
		} else if other, dup := seen[s.Name]; dup {
			errs.add(key+".name", "%q is also the name of %s", s.Name, other)
		}
		seen[s.Name] = key
		s.Networks = nonNil(s.Networks)
		for j, n := range s.Networks {
			p, err := parsePrefix(n)
			if err != nil {
				errs.add(indexKey(key+".networks", j), "%v", err)
				continue
			}
			s.Networks[j] = p.String()
		}
		s.Users = nonNil(s.Users)
		for j, u := range s.Users {
			if u == "" || strings.ContainsAny(u, " \t:/") {
				errs.add(indexKey(key+".users", j), "%q is not a Unix user name", u)
			}
		}
		validateServiceAuth(errs, key, s, logins)
	}
}

func validServiceName(s string) bool {
	if s == "" || len(s) > 64 || s == "unknown" {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

func (s *Syslog) validate(errs *Errors) {
	if s.Address != "" {
		host, port, err := net.SplitHostPort(s.Address)
		n, perr := strconv.Atoi(port)
		switch {
		case err != nil || host == "":
			errs.add("log.syslog.address", "invalid address %q: must be host:port, such as \"logs.example.org:6514\"", s.Address)
		case perr != nil || n < 1 || n > 65535:
			errs.add("log.syslog.address", "invalid address %q: port must be a number from 1 to 65535", s.Address)
		case !validIP(host) && !validDomain(host):
			errs.add("log.syslog.address", "invalid address %q: %q is neither an IP address nor a host name", s.Address, host)
		}
	}
	if s.CAFile != "" {
		if msg := checkCAFile(s.CAFile); msg != "" {
			errs.add("log.syslog.ca_file", "%s", msg)
		}
	}
	oneOf(errs, "log.syslog.facility", s.Facility, syslogFacilities...)
	if s.AppName == "" || len(s.AppName) > 48 || strings.ContainsAny(s.AppName, " \t\r\n") {
		errs.add("log.syslog.app_name", "must be 1 to 48 printable characters without spaces, is %q", s.AppName)
	}
	positive(errs, "log.syslog.buffer", int64(s.Buffer), strconv.Itoa(s.Buffer))
}

func (c *Config) validateObserve(errs *Errors) {
	c.TestFiles = nonNil(c.TestFiles)
	if c.Services == nil {
		c.Services = []Service{}
	}
	validateServices(errs, c.Services)
	if c.DKIM == nil {
		c.DKIM = []DKIMKey{}
	}
	validateDKIM(errs, c.DKIM)
	c.Log.Syslog.validate(errs)
	positive(errs, "stats.retention", int64(c.Stats.Retention), c.Stats.Retention.String())
	positive(errs, "stats.max_rows", int64(c.Stats.MaxRows), strconv.Itoa(c.Stats.MaxRows))
	positive(errs, "trace.retention", int64(c.Trace.Retention), c.Trace.Retention.String())
	if c.Trace.MaxEvents < 0 {
		errs.add("trace.max_events", "must not be negative (0 turns the trace store off), is %d", c.Trace.MaxEvents)
	}
	c.Alerts.validate(errs)
	c.Lists.validate(errs)
	if c.Tests == nil {
		c.Tests = []Test{}
	}
	c.validateTests(errs)
}

func (a *Alerts) validate(errs *Errors) {
	positive(errs, "alerts.check_interval", int64(a.CheckInterval), a.CheckInterval.String())
	for _, d := range []struct {
		key string
		v   Duration
	}{
		{"alerts.oldest_queued", a.OldestQueued},
		{"alerts.all_upstreams_down", a.AllUpstreamsDown},
		{"alerts.upstream_down", a.UpstreamDown},
		{"alerts.config_drift", a.ConfigDrift},
	} {
		if d.v < 0 {
			errs.add(d.key, "must not be negative (0 disables), is %s", d.v)
		}
	}
	if a.DeferralRatio < 0 || a.DeferralRatio > 1 {
		errs.add("alerts.deferral_ratio", "must be from 0 to 1 (0 disables), is %g", a.DeferralRatio)
	}
	if a.DeferralRatio > 0 {
		positive(errs, "alerts.deferral_window", int64(a.DeferralWindow), a.DeferralWindow.String())
	}
	if a.DeferralMinimum < 0 {
		errs.add("alerts.deferral_minimum", "must not be negative, is %d", a.DeferralMinimum)
	}
	if a.SilentFactor < 0 {
		errs.add("alerts.silent_factor", "must not be negative (0 disables), is %g", a.SilentFactor)
	}
	if a.SilentFactor > 0 {
		positive(errs, "alerts.silent_minimum", int64(a.SilentMinimum), strconv.Itoa(a.SilentMinimum))
		positive(errs, "alerts.silent_history", int64(a.SilentHistory), a.SilentHistory.String())
	}
	if a.HeldMessages < 0 {
		errs.add("alerts.held_messages", "must not be negative (0 disables), is %d", a.HeldMessages)
	}
	if a.WebhookURL != "" {
		u, err := url.Parse(a.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add("alerts.webhook_url", "must be an http:// or https:// URL, is %q", redactURL(a.WebhookURL))
		}
	}
	positive(errs, "alerts.webhook_timeout", int64(a.WebhookTimeout), a.WebhookTimeout.String())
}

// Expected outcomes of a config test.
const (
	ExpectRelayed = "relayed"
	ExpectRefused = "refused"
	// The outcomes of a post to a list: the action of its posting chain.
	ExpectAccepted  = "accepted"
	ExpectHeld      = "held"
	ExpectRejected  = "rejected"
	ExpectDiscarded = "discarded"
)

func (c *Config) validateTests(errs *Errors) {
	services := make(map[string]bool)
	for _, s := range c.Services {
		services[s.Name] = true
	}
	upstreams := make(map[string]bool)
	for _, u := range c.Delivery.Upstreams {
		upstreams[u] = true
	}
	names := make(map[string]string)
	for i := range c.Tests {
		t := &c.Tests[i]
		key := indexKey("test", i)
		if t.Name == "" {
			errs.add(key+".name", "every test needs a name")
		} else if other, dup := names[t.Name]; dup {
			errs.add(key+".name", "%q is also the name of %s", t.Name, other)
		}
		names[t.Name] = key
		if t.Client != "" {
			if _, err := netip.ParseAddr(t.Client); err != nil {
				errs.add(key+".client", "%q is not an IP address", t.Client)
			}
		}
		if t.Service != "" && !services[t.Service] {
			errs.add(key+".service", "%q is not a [[service]] name", t.Service)
		}
		if t.Client != "" && (t.Service != "" || t.User != "") || t.Service != "" && t.User != "" {
			errs.add(key, "give at most one of client, service and user")
		}
		if t.Login != "" && t.User != "" {
			errs.add(key+".login", "a posthorn sendmail submission (user) does not log in: give login with client or service")
		}
		t.To = nonNil(t.To)
		if len(t.To) == 0 {
			errs.add(key+".to", "list at least one recipient")
		}
		if t.Message != "" && t.MessageFile != "" {
			errs.add(key+".message_file", "give message or message_file, not both")
		}
		oneOf(errs, key+".expect", t.Expect, ExpectRelayed, ExpectRefused,
			ExpectAccepted, ExpectHeld, ExpectRejected, ExpectDiscarded)
		if t.ExpectRule != "" && !slices.Contains([]string{ExpectAccepted, ExpectHeld, ExpectRejected, ExpectDiscarded}, t.Expect) {
			errs.add(key+".expect_rule", "needs expect = %q, %q, %q or %q (a post to a list)",
				ExpectAccepted, ExpectHeld, ExpectRejected, ExpectDiscarded)
		}
		if t.ExpectUpstream != "" && t.ExpectUpstream != "direct" {
			if n, err := normalizeUpstream(t.ExpectUpstream); err != nil || !upstreams[n] {
				errs.add(key+".expect_upstream", "%q is not in delivery.upstreams (or \"direct\")", t.ExpectUpstream)
			} else {
				t.ExpectUpstream = n
			}
		}
		if t.ExpectCode != 0 && (t.ExpectCode < 200 || t.ExpectCode > 599) {
			errs.add(key+".expect_code", "must be an SMTP reply code from 200 to 599, is %d", t.ExpectCode)
		}
	}
}

// redactURL hides a URL's user information, path and query, which may
// carry a token.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(redacted)"
	}
	return u.Scheme + "://" + u.Host + "/(redacted)"
}

func (l *Lists) validate(errs *Errors) {
	l.Domains = nonNil(l.Domains)
	seen := make(map[string]string)
	for i, d := range l.Domains {
		key := indexKey("lists.domains", i)
		d = strings.ToLower(d)
		if !validDomain(d) {
			errs.add(key, "%q is not a domain name", l.Domains[i])
			continue
		}
		if other, dup := seen[d]; dup {
			errs.add(key, "%q is listed twice (also %s)", d, other)
		}
		seen[d] = key
		l.Domains[i] = d
	}
	if l.SiteURL != "" {
		u, err := url.Parse(l.SiteURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add("lists.site_url", "must be an http:// or https:// URL, is %q", l.SiteURL)
		} else {
			l.SiteURL = strings.TrimRight(l.SiteURL, "/")
		}
	}
	positive(errs, "lists.hold_expiry", int64(l.HoldExpiry), l.HoldExpiry.String())
	positive(errs, "lists.moderator_notice_interval", int64(l.ModeratorNoticeInterval), l.ModeratorNoticeInterval.String())
	positive(errs, "lists.sender_notices_per_day", int64(l.SenderNoticesPerDay), strconv.Itoa(l.SenderNoticesPerDay))
	positive(errs, "lists.bounce_threshold", int64(l.BounceThreshold), strconv.Itoa(l.BounceThreshold))
	positive(errs, "lists.bounce_window", int64(l.BounceWindow), l.BounceWindow.String())
	positive(errs, "lists.bounce_probe_wait", int64(l.BounceProbeWait), l.BounceProbeWait.String())
	if l.FanoutConcurrency < 1 || l.FanoutConcurrency > 256 {
		errs.add("lists.fanout_concurrency", "must be from 1 to 256, is %d", l.FanoutConcurrency)
	}
}

// IsListDomain reports whether domain (any case) is one of lists.domains.
func (c *Config) IsListDomain(domain string) bool {
	for _, d := range c.Lists.Domains {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

func validateDKIM(errs *Errors, keys []DKIMKey) {
	seen := make(map[string]bool)
	for i, k := range keys {
		key := indexKey("dkim", i)
		if k.Domain == "" {
			errs.add(key+".domain", "a DKIM key needs its domain")
		}
		if k.Selector == "" {
			errs.add(key+".selector", "a DKIM key needs its selector")
		}
		if k.KeyFile == "" {
			errs.add(key+".key_file", "a DKIM key needs its key_file")
		}
		id := strings.ToLower(k.Selector + "._domainkey." + k.Domain)
		if k.Domain != "" && k.Selector != "" && seen[id] {
			errs.add(key+".selector", "selector %q of %s is given twice", k.Selector, k.Domain)
		}
		seen[id] = true
		if k.Expire < 0 {
			errs.add(key+".expire", "must not be negative")
		}
	}
}
