package sendmail

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	deliver := func(o Options) Options { o.Mode = ModeDeliver; return o }
	tests := []struct {
		name string
		args []string
		want Options
	}{
		{"PHP mail() default", []string{"-t", "-i"},
			deliver(Options{ExtractRcpts: true, IgnoreDots: true})},
		{"PHP mail() with -f attached", []string{"-t", "-i", "-fwww-data@example.org"},
			deliver(Options{ExtractRcpts: true, IgnoreDots: true, From: "www-data@example.org"})},
		{"PHP grouped flags", []string{"-ti", "-f", "www@example.org"},
			deliver(Options{ExtractRcpts: true, IgnoreDots: true, From: "www@example.org"})},
		{"Debian cron", []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"},
			deliver(Options{FullName: "CronDaemon", IgnoreDots: true, BodyType: "8BITMIME", Rcpts: []string{"root"}})},
		{"cronie", []string{"-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t"},
			deliver(Options{FullName: "CronDaemon", IgnoreDots: true, ExtractRcpts: true})},
		{"git send-email", []string{"-i", "alice@example.org", "bob@example.net"},
			deliver(Options{IgnoreDots: true, Rcpts: []string{"alice@example.org", "bob@example.net"}})},
		{"git send-email with envelope sender", []string{"-i", "-f", "dev@example.org", "list@example.org"},
			deliver(Options{IgnoreDots: true, From: "dev@example.org", Rcpts: []string{"list@example.org"}})},
		{"Python sendmail wrapper", []string{"-t", "-oi"},
			deliver(Options{ExtractRcpts: true, IgnoreDots: true})},
		{"Java mail / Gerrit", []string{"-oi", "-t", "-f", "gerrit@example.org"},
			deliver(Options{ExtractRcpts: true, IgnoreDots: true, From: "gerrit@example.org"})},
		{"mutt", []string{"-oem", "-oi", "--", "a@example.org", "b@example.org"},
			deliver(Options{IgnoreDots: true, Rcpts: []string{"a@example.org", "b@example.org"}})},
		{"null sender", []string{"-f", "<>", "a@example.org"},
			deliver(Options{NullSender: true, Rcpts: []string{"a@example.org"}})},
		{"empty sender", []string{"-f", "", "a@example.org"},
			deliver(Options{NullSender: true, Rcpts: []string{"a@example.org"}})},
		{"bracketed sender", []string{"-f<me@example.org>", "a@example.org"},
			deliver(Options{From: "me@example.org", Rcpts: []string{"a@example.org"}})},
		{"-r sender", []string{"-r", "me@example.org", "a@example.org"},
			deliver(Options{From: "me@example.org", Rcpts: []string{"a@example.org"}})},
		{"-t then -f in one group", []string{"-tfme@example.org"},
			deliver(Options{ExtractRcpts: true, From: "me@example.org"})},
		{"options after recipients", []string{"a@example.org", "-f", "me@example.org", "-v"},
			deliver(Options{From: "me@example.org", Verbose: true, Rcpts: []string{"a@example.org"}})},
		{"comma list and brackets", []string{"a@example.org, <b@example.org>,,c", "d@example.org"},
			deliver(Options{Rcpts: []string{"a@example.org", "b@example.org", "c", "d@example.org"}})},
		{"quoted local part with comma", []string{`"x,y"@example.org`},
			deliver(Options{Rcpts: []string{`"x,y"@example.org`}})},
		{"DSN options", []string{"-N", "success,delay", "-R", "HDRS", "-V", "env-1", "a@example.org"},
			deliver(Options{DSNNotify: []string{"success", "delay"}, DSNRet: "hdrs", EnvID: "env-1", Rcpts: []string{"a@example.org"}})},
		{"DSN never", []string{"-Nnever", "a@example.org"},
			deliver(Options{DSNNotify: []string{"never"}, Rcpts: []string{"a@example.org"}})},
		{"ignored sendmail options", []string{"-oQ/var/spool/mqueue", "-odb", "-odq", "-om", "-o7", "-X", "/tmp/log",
			"-L", "label", "-n", "-U", "-em", "-ep", "-h", "10", "-Am", "-G", "-m", "-B", "7bit", "-Bbinary", "-pESMTP",
			"-O", "DeliveryMode=b", "-d0.1", "-bm", "-XV", "a@example.org"},
			deliver(Options{BodyType: "7BIT", Rcpts: []string{"a@example.org"}})},
		{"-O IgnoreDots", []string{"-O", "IgnoreDots=true", "a@example.org"},
			deliver(Options{IgnoreDots: true, Rcpts: []string{"a@example.org"}})},
		{"-o with separate value", []string{"-o", "i", "a@example.org"},
			deliver(Options{IgnoreDots: true, Rcpts: []string{"a@example.org"}})},
		{"config long form", []string{"--config=/etc/posthorn.toml", "-t"},
			deliver(Options{Config: "/etc/posthorn.toml", ExtractRcpts: true})},
		{"config separate", []string{"--config", "/etc/p.toml", "a@example.org"},
			deliver(Options{Config: "/etc/p.toml", Rcpts: []string{"a@example.org"}})},
		{"config -C", []string{"-C", "/etc/p.toml", "a@example.org"},
			deliver(Options{Config: "/etc/p.toml", Rcpts: []string{"a@example.org"}})},
		{"recipient after -- looks like an option", []string{"--", "-odd@example.org"},
			deliver(Options{Rcpts: []string{"-odd@example.org"}})},
		{"mailq", []string{"-bp"}, Options{Mode: ModeMailq}},
		{"newaliases -bi", []string{"-bi"}, Options{Mode: ModeNewaliases}},
		{"newaliases -I", []string{"-I"}, Options{Mode: ModeNewaliases}},
		{"version", []string{"--version"}, Options{Mode: ModeVersion}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseArgs(tt.args)
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseArgs(%q)\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		mention string // the error names this
	}{
		{"unknown flag", []string{"-z", "a@example.org"}, "-z"},
		{"unknown flag in a group", []string{"-tiz"}, "-z"},
		{"unknown long option", []string{"--frobnicate"}, "--frobnicate"},
		{"missing value", []string{"a@example.org", "-f"}, "-f"},
		{"missing config", []string{"--config"}, "--config"},
		{"queue run", []string{"-q"}, "-q"},
		{"queue run interval", []string{"-q1h"}, "-q"},
		{"smtp mode", []string{"-bs"}, "-bs"},
		{"daemon mode", []string{"-bd"}, "-bd"},
		{"bad -N", []string{"-N", "sometimes", "a@example.org"}, "-N"},
		{"-N never with others", []string{"-N", "never,success", "a@example.org"}, "never"},
		{"bad -R", []string{"-R", "body", "a@example.org"}, "-R"},
		{"bad -V", []string{"-V", "env id", "a@example.org"}, "-V"},
		{"recipient with space", []string{"a b@example.org"}, "a b@example.org"},
		{"sender with newline", []string{"-f", "a@x\nBcc: y", "a@example.org"}, "-f"},
		{"bad sender", []string{"-f", "a b <c@d>", "a@example.org"}, "invalid sender"},
		{"lone dash", []string{"-", "a@example.org"}, `"-"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseArgs(tt.args)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("ParseArgs(%q) = %v, want *UsageError", tt.args, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
			if ExitCode(err) != ExUsage {
				t.Errorf("ExitCode = %d, want %d", ExitCode(err), ExUsage)
			}
		})
	}
}

func TestParseArgsNoRecipients(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"-i"}, {"-f", "me@example.org", "--"}, {"", ","}} {
		_, err := ParseArgs(args)
		var ne *NoRecipientsError
		if !errors.As(err, &ne) {
			t.Errorf("ParseArgs(%q) = %v, want *NoRecipientsError", args, err)
		}
		if ExitCode(err) != ExUsage {
			t.Errorf("ExitCode = %d, want %d", ExitCode(err), ExUsage)
		}
	}
}
