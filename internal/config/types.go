package config

// Config is the whole configuration of one Posthorn node. Every field has a
// default (see Default); a file only needs the keys it changes.
type Config struct {
	Hostname string `toml:"hostname"` // default: os.Hostname()
	DataDir  string `toml:"data_dir"` // default: "/var/lib/posthorn"
	// SpoolSync is how the queue's writes reach stable storage: "journal"
	// (small new messages appended to a shared segment, one fdatasync per
	// round), "file" (fdatasync each file, then the directory) or
	// "filesystem" (one syncfs for every write waiting). Restart to change.
	SpoolSync string `toml:"spool_sync"` // default "journal"
	// TestFiles are more config test files (each holding [[test]] tables),
	// relative to this file; globs allowed.
	TestFiles []string  `toml:"test_files"` // default []
	Log       Log       `toml:"log"`
	SMTP      SMTP      `toml:"smtp"`
	HTTP      HTTP      `toml:"http"`
	Delivery  Delivery  `toml:"delivery"`
	Services  []Service `toml:"service"`
	DKIM      []DKIMKey `toml:"dkim"`
	Stats     Stats     `toml:"stats"`
	Trace     Trace     `toml:"trace"`
	Alerts    Alerts    `toml:"alerts"`
	Lists     Lists     `toml:"lists"`
	Tests     []Test    `toml:"test"`
}

// Log configures the process log on stderr.
type Log struct {
	Level  string `toml:"level"`  // "debug" | "info" | "warn" | "error"; default "info"
	Format string `toml:"format"` // "json" | "text"; default "json"
	Syslog Syslog `toml:"syslog"`
}

// SMTP configures the submission listeners.
type SMTP struct {
	Listen             []string `toml:"listen"`               // default ["127.0.0.1:25"]
	TrustedNetworks    []string `toml:"trusted_networks"`     // CIDRs; default ["127.0.0.0/8", "::1/128"]
	MaxMessageSize     Size     `toml:"max_message_size"`     // default 25MiB
	MaxRecipients      int      `toml:"max_recipients"`       // per message; default 1000
	MaxLineLength      int      `toml:"max_line_length"`      // bytes per line, command or data; default 4096
	MaxReceivedHeaders int      `toml:"max_received_headers"` // loop detection; default 50
	MaxConnections     int      `toml:"max_connections"`      // concurrent sessions; default 1000
	ReadTimeout        Duration `toml:"read_timeout"`         // idle time waiting for a command or data; default 5m
	WriteTimeout       Duration `toml:"write_timeout"`        // default 1m
	MaxSessionTime     Duration `toml:"max_session_time"`     // whole connection; default 30m
	DataTimeout        Duration `toml:"data_timeout"`         // whole DATA transfer; default 10m
	// MaxConnectionsPerIP bounds the concurrent sessions of one client
	// address; 0 = no bound but max_connections.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"` // default 100

	// ImplicitTLSListen are listeners where TLS starts at connect (port 465
	// style); they need a certificate.
	ImplicitTLSListen []string `toml:"implicit_tls_listen"` // default []
	// TLSCertFile and TLSKeyFile are the PEM certificate chain and key
	// offered by STARTTLS on the plain listeners and by the implicit TLS
	// listeners. Both or neither; "" = no TLS.
	TLSCertFile string `toml:"tls_cert_file"` // default ""
	TLSKeyFile  string `toml:"tls_key_file"`  // default ""
	// TLSReloadInterval is how often the certificate files are checked for
	// a change (they are also reloaded with the configuration).
	TLSReloadInterval Duration `toml:"tls_reload_interval"` // default 1m

	// RequireTLSForAuth allows SMTP AUTH only over TLS or from a loopback
	// address.
	RequireTLSForAuth bool `toml:"require_tls_for_auth"` // default true
	// AuthFailureLimit failed AUTH attempts from one client address within
	// AuthFailureWindow block its further attempts until the window passes.
	AuthFailureLimit  int      `toml:"auth_failure_limit"`  // default 5
	AuthFailureWindow Duration `toml:"auth_failure_window"` // default 15m
	// AuthFailureLimitPerUser failed AUTH attempts for one login name, from
	// any address, within AuthFailureWindow lock that name: every attempt
	// for it is refused until the window passes. 0 = no per-name limit.
	AuthFailureLimitPerUser int `toml:"auth_failure_limit_per_user"` // default 10
}

// HTTP configures the single HTTP listener (health, metrics, later the web UI).
type HTTP struct {
	Listen string `toml:"listen"` // default "127.0.0.1:8025"; "" disables
	// OperatorNetworks may open the operator pages (dashboard, trace)
	// without logging in; everyone else needs a site-admin account.
	OperatorNetworks []string `toml:"operator_networks"` // CIDRs; default ["127.0.0.0/8", "::1/128"]
}

// Delivery configures the queue and the courier.
type Delivery struct {
	// Upstreams is the ordered list of relays ("host:port"), tried in order
	// within each attempt. Empty means direct delivery by MX lookup.
	Upstreams []string `toml:"upstreams"` // default []
	// UpstreamTLS sets the STARTTLS mode per upstream address:
	// "none", "opportunistic" or "required". Unlisted upstreams use TLS.
	UpstreamTLS map[string]string `toml:"upstream_tls"` // default {}
	// TLS is the STARTTLS mode for upstreams not in UpstreamTLS and for
	// direct delivery: "none" | "opportunistic" | "required".
	TLS       string `toml:"tls"`         // default "opportunistic"
	TLSCAFile string `toml:"tls_ca_file"` // PEM roots for "required"; default "" = system roots

	RetrySchedule []Duration `toml:"retry_schedule"` // default ["1m","5m","15m","1h"]; the last step repeats
	MaxLifetime   Duration   `toml:"max_lifetime"`   // default 5d
	DelayWarning  Duration   `toml:"delay_warning"`  // default 4h; 0 disables

	Concurrency    int      `toml:"concurrency"`       // parallel deliveries; default 20
	ConnectTimeout Duration `toml:"connect_timeout"`   // default 30s
	CommandTimeout Duration `toml:"command_timeout"`   // per SMTP command; default 2m
	DataTimeout    Duration `toml:"data_timeout"`      // wait for the reply to the final dot; default 10m
	IdleTimeout    Duration `toml:"idle_timeout"`      // keep an idle upstream connection; default 30s
	MaxIdlePerHost int      `toml:"max_idle_per_host"` // idle connections kept per upstream; default 10
	// DownBackoff is how long an upstream that failed is skipped before it is
	// probed again; doubled on each further failure up to DownBackoffMax.
	DownBackoff    Duration `toml:"down_backoff"`     // default 30s
	DownBackoffMax Duration `toml:"down_backoff_max"` // default 10m
	MXPort         int      `toml:"mx_port"`          // port for direct delivery; default 25
	// MTASTS follows recipient domains' MTA-STS policies (RFC 8461) in
	// direct delivery: "enforce" policies are obeyed, "testing" ones only
	// logged. No effect with upstreams.
	MTASTS        bool     `toml:"mta_sts"`        // default true
	ShutdownGrace Duration `toml:"shutdown_grace"` // how long SIGTERM waits for deliveries; default 30s
}

// DKIMKey is one signing key: outgoing mail whose From domain (or a parent
// of it, else the envelope sender's domain) is Domain is signed with it.
// Every key of a domain signs, so a new selector can be published and
// used before the old one is withdrawn.
type DKIMKey struct {
	Domain   string   `toml:"domain"`   // required
	Selector string   `toml:"selector"` // required
	KeyFile  string   `toml:"key_file"` // PEM private key, RSA (2048 bits or more) or Ed25519; required
	Expire   Duration `toml:"expire"`   // signature lifetime (x= tag); default 0 = none
}
