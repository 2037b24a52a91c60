package config

// Service names a sender of mail. A message is attributed to the first
// service whose networks contain the client's address (SMTP), or whose
// users contain the calling Unix user (posthorn sendmail); a sendmail
// caller no service claims is attributed to its Unix user name; anything
// else is "unknown".
type Service struct {
	Name     string   `toml:"name"`     // required; letters, digits, "-", "_", "."
	Networks []string `toml:"networks"` // CIDRs or addresses; default []
	Users    []string `toml:"users"`    // Unix user names for posthorn sendmail; default []
	// AuthUser and AuthPasswordHash let the service log in with SMTP AUTH
	// (PLAIN or LOGIN) from anywhere; without a hash it cannot.
	AuthUser         string `toml:"auth_user"`          // default "" = name
	AuthPasswordHash string `toml:"auth_password_hash"` // argon2id or bcrypt; default ""
	// MaxMessagesPerMinute bounds the service's submissions; more get a 4xx.
	MaxMessagesPerMinute int `toml:"max_messages_per_minute"` // default 0 = no bound
}

// Login returns the SMTP AUTH user name of s: AuthUser, or the name.
func (s *Service) Login() string {
	if s.AuthUser != "" {
		return s.AuthUser
	}
	return s.Name
}

// Syslog forwards the mail log (and the process log) to a central
// collector as RFC 5424 syslog over TCP, framed by octet counting
// (RFC 6587). Forwarding never blocks mail: records beyond the buffer are
// dropped and counted.
type Syslog struct {
	Address  string `toml:"address"`   // "host:port"; default "" (off)
	TLS      bool   `toml:"tls"`       // default false
	CAFile   string `toml:"ca_file"`   // PEM roots to verify the collector; default "" = system roots
	Facility string `toml:"facility"`  // default "mail"
	AppName  string `toml:"app_name"`  // default "posthorn"
	Buffer   int    `toml:"buffer"`    // records kept while the collector is away; default 10000
	MailOnly bool   `toml:"mail_only"` // forward only the mail log; default false
}

// Stats keeps per-minute counts per service and outcome in
// data_dir/posthorn.db for the built-in dashboard.
type Stats struct {
	Retention Duration `toml:"retention"` // default 30d
	MaxRows   int      `toml:"max_rows"`  // bound on stored rows, oldest dropped first; default 2000000
}

// Trace keeps every mail log event in data_dir/trace.db for posthorn trace
// and the web trace page.
type Trace struct {
	Retention Duration `toml:"retention"`  // default 14d
	MaxEvents int      `toml:"max_events"` // bound on stored events, oldest dropped first; default 20000000
}

// Alerts are the built-in checks reported by /healthz and posthorn health.
// A threshold of 0 disables its check.
type Alerts struct {
	CheckInterval Duration `toml:"check_interval"` // default 30s
	// OldestQueued: the oldest queued message is older than this.
	OldestQueued Duration `toml:"oldest_queued"` // default 30m
	// AllUpstreamsDown: every upstream has been down for this long.
	AllUpstreamsDown Duration `toml:"all_upstreams_down"` // default 1m
	// UpstreamDown: one upstream has been down for this long.
	UpstreamDown Duration `toml:"upstream_down"` // default 15m
	// DeferralRatio: deferrals / (deliveries + deferrals) over
	// DeferralWindow is above this, with at least DeferralMinimum attempts.
	DeferralRatio   float64  `toml:"deferral_ratio"`   // default 0.5
	DeferralWindow  Duration `toml:"deferral_window"`  // default 15m
	DeferralMinimum int      `toml:"deferral_minimum"` // default 20
	// SilentFactor: a service that usually sends (at least SilentMinimum
	// messages in the last SilentHistory) has sent nothing for
	// SilentFactor times its usual gap between messages.
	SilentFactor  float64  `toml:"silent_factor"`  // default 10
	SilentMinimum int      `toml:"silent_minimum"` // default 20
	SilentHistory Duration `toml:"silent_history"` // default 7d
	// HeldMessages: list posts held for moderation exceed this.
	HeldMessages int `toml:"held_messages"` // default 100
	// ConfigDrift: the file on disk has differed from the running
	// configuration for this long.
	ConfigDrift Duration `toml:"config_drift"` // default 10m
	// WebhookURL receives a JSON POST on every state change of a check.
	WebhookURL     string   `toml:"webhook_url"`     // default "" (off)
	WebhookTimeout Duration `toml:"webhook_timeout"` // default 10s
}

// Test is a configuration test case: a sample submission and the outcome
// it must have under this configuration. posthorn check and every reload
// run them; a failing case refuses the configuration.
type Test struct {
	Name string `toml:"name"` // required
	// The submission. Client is the address it comes from; Service picks
	// the first address of that service's networks instead.
	Client      string   `toml:"client"`       // default "127.0.0.1"
	Service     string   `toml:"service"`      // default ""
	User        string   `toml:"user"`         // Unix user of a posthorn sendmail submission; default ""
	Login       string   `toml:"login"`        // SMTP AUTH login it logs in with, the right password assumed; default ""
	From        string   `toml:"from"`         // envelope sender; default "test@" + hostname
	To          []string `toml:"to"`           // envelope recipients; required
	Message     string   `toml:"message"`      // the message, inline; default a minimal message
	MessageFile string   `toml:"message_file"` // or read from this file (relative to the config file)
	// The expected outcome.
	// "relayed" | "refused", or for a post to a list the action of its
	// posting chain: "accepted" | "held" | "rejected" | "discarded"; required
	Expect         string `toml:"expect"`
	ExpectUpstream string `toml:"expect_upstream"` // relayed via this upstream ("direct" for MX); default any
	ExpectService  string `toml:"expect_service"`  // attributed to this service; default any
	ExpectCode     int    `toml:"expect_code"`     // refused with this SMTP code; default any
	ExpectRule     string `toml:"expect_rule"`     // a list post decided by this rule; default any
}

// Lists configures the mailing-list server. With no domains, no list mail
// is accepted and the relay works as before.
type Lists struct {
	// Domains are the list domains served here ("lists.example.org"):
	// mail to them is accepted from anyone, for existing lists only.
	Domains []string `toml:"domains"` // default []
	// SiteURL is the web UI's base URL, used in List-* header links.
	SiteURL string `toml:"site_url"` // default ""
	// SecretFile holds the site secret that signs unsubscribe links; it is
	// created (32 random bytes, mode 0600) when missing.
	SecretFile              string   `toml:"secret_file"`               // default "" = data_dir/lists.secret
	HoldExpiry              Duration `toml:"hold_expiry"`               // default 14d
	ModeratorNoticeInterval Duration `toml:"moderator_notice_interval"` // default 10m
	SenderNoticesPerDay     int      `toml:"sender_notices_per_day"`    // default 3
	BounceThreshold         int      `toml:"bounce_threshold"`          // default 5
	BounceWindow            Duration `toml:"bounce_window"`             // default 7d
	BounceProbes            bool     `toml:"bounce_probes"`             // probe before disabling; default true
	BounceProbeWait         Duration `toml:"bounce_probe_wait"`         // no bounce to a probe within this: score cleared; default 3d
	FanoutConcurrency       int      `toml:"fanout_concurrency"`        // default 8; no longer used, still accepted
}
