package config

import (
	"os"
	"time"
)

// Default returns the configuration used for every key that a file does not
// set. Each call returns a new value that the caller may change.
func Default() *Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &Config{
		Hostname:  host,
		DataDir:   "/var/lib/posthorn",
		SpoolSync: "journal",
		TestFiles: []string{},
		Log: Log{Level: "info", Format: "json",
			Syslog: Syslog{Facility: "mail", AppName: "posthorn", Buffer: 10000}},
		SMTP: SMTP{
			Listen:                  []string{"127.0.0.1:25"},
			TrustedNetworks:         []string{"127.0.0.0/8", "::1/128"},
			MaxMessageSize:          25 << 20,
			MaxRecipients:           1000,
			MaxLineLength:           4096,
			MaxReceivedHeaders:      50,
			MaxConnections:          1000,
			ReadTimeout:             Duration(5 * time.Minute),
			WriteTimeout:            Duration(time.Minute),
			MaxSessionTime:          Duration(30 * time.Minute),
			DataTimeout:             Duration(10 * time.Minute),
			MaxConnectionsPerIP:     100,
			ImplicitTLSListen:       []string{},
			TLSReloadInterval:       Duration(time.Minute),
			RequireTLSForAuth:       true,
			AuthFailureLimit:        5,
			AuthFailureWindow:       Duration(15 * time.Minute),
			AuthFailureLimitPerUser: 10,
		},
		HTTP: HTTP{Listen: "127.0.0.1:8025", OperatorNetworks: []string{"127.0.0.0/8", "::1/128"}},
		Delivery: Delivery{
			Upstreams:   []string{},
			UpstreamTLS: map[string]string{},
			TLS:         "opportunistic",
			RetrySchedule: []Duration{
				Duration(time.Minute), Duration(5 * time.Minute),
				Duration(15 * time.Minute), Duration(time.Hour),
			},
			MaxLifetime:    Duration(5 * day),
			DelayWarning:   Duration(4 * time.Hour),
			Concurrency:    20,
			ConnectTimeout: Duration(30 * time.Second),
			CommandTimeout: Duration(2 * time.Minute),
			DataTimeout:    Duration(10 * time.Minute),
			IdleTimeout:    Duration(30 * time.Second),
			MaxIdlePerHost: 10,
			DownBackoff:    Duration(30 * time.Second),
			DownBackoffMax: Duration(10 * time.Minute),
			MXPort:         25,
			MTASTS:         true,
			ShutdownGrace:  Duration(30 * time.Second),
		},
		Services: []Service{},
		DKIM:     []DKIMKey{},
		Stats:    Stats{Retention: Duration(30 * day), MaxRows: 2_000_000},
		Trace:    Trace{Retention: Duration(14 * day), MaxEvents: 20_000_000},
		Alerts: Alerts{
			CheckInterval:    Duration(30 * time.Second),
			OldestQueued:     Duration(30 * time.Minute),
			AllUpstreamsDown: Duration(time.Minute),
			UpstreamDown:     Duration(15 * time.Minute),
			DeferralRatio:    0.5,
			DeferralWindow:   Duration(15 * time.Minute),
			DeferralMinimum:  20,
			SilentFactor:     10,
			SilentMinimum:    20,
			SilentHistory:    Duration(7 * day),
			HeldMessages:     100,
			ConfigDrift:      Duration(10 * time.Minute),
			WebhookTimeout:   Duration(10 * time.Second),
		},
		Lists: Lists{
			Domains:                 []string{},
			HoldExpiry:              Duration(14 * day),
			ModeratorNoticeInterval: Duration(10 * time.Minute),
			SenderNoticesPerDay:     3,
			BounceThreshold:         5,
			BounceWindow:            Duration(7 * day),
			BounceProbes:            true,
			BounceProbeWait:         Duration(3 * day),
			FanoutConcurrency:       8,
		},
		Tests: []Test{},
	}
}
