package configtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/config"
)

// load parses a configuration with a hostname and two upstreams unless
// doc sets them.
func load(t *testing.T, doc string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("t.toml", []byte(doc))
	if err != nil {
		t.Fatalf("config does not load: %v\n%s", err, doc)
	}
	return cfg
}

const base = `hostname = "relay.example.org"
[smtp]
trusted_networks = ["127.0.0.0/8", "::1", "10.0.0.0/8"]
[delivery]
upstreams = ["mx1.example.org", "mx2.example.org:587"]
[[service]]
name = "gerrit"
networks = ["10.1.0.0/24"]
users = ["gerrit"]
[[service]]
name = "cron"
users = ["root"]
`

// noInvariants runs only the cases.
func casesOnly() Options { return Options{Invariants: []Invariant{}} }

func TestCases(t *testing.T) {
	t.Parallel()
	loop := "Received: from a\nReceived: from b\nReceived: from c\nSubject: x\n\nbody\n"
	for _, c := range []struct {
		name     string
		doc      string // added to base; "" to use test only
		test     string // the [[test]] table's keys
		passed   bool
		actual   Outcome
		reply    string // the refusal, if any
		inTrail  string // a step that must be in the trail
		noInvDoc bool
	}{
		{name: "default client relays via the first upstream",
			test:   `to = ["a@example.com"]` + "\nexpect = \"relayed\"\nexpect_upstream = \"mx1.example.org\"",
			passed: true, actual: Outcome{Relayed, "mx1.example.org:25", "unknown", 250, ""},
			inTrail: "route: upstreams in failover order: mx1.example.org:25 (TLS opportunistic) then mx2.example.org:587 (TLS opportunistic) (delivery.upstreams)"},
		{name: "service network",
			test:   `service = "gerrit"` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"\nexpect_service = \"gerrit\"",
			passed: true, actual: Outcome{Relayed, "mx1.example.org:25", "gerrit", 250, ""},
			inTrail: "trust: trusted: 10.1.0.1 is in 10.0.0.0/8 (smtp.trusted_networks[2])"},
		{name: "service attribution step",
			test:   `client = "10.1.0.77"` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"",
			passed: true, actual: Outcome{Relayed, "mx1.example.org:25", "gerrit", 250, ""},
			inTrail: "service: gerrit: 10.1.0.77 is in 10.1.0.0/24 (service[0].networks[0])"},
		{name: "outside client refused",
			test:   `client = "192.0.2.9"` + "\nto = [\"a@example.com\"]\nexpect = \"refused\"\nexpect_code = 554",
			passed: true, actual: Outcome{Refused, "", "unknown", 554, ""},
			reply:   "554 5.7.1 <a@example.com>: Relay access denied",
			inTrail: "trust: not trusted: 192.0.2.9 is in none of [127.0.0.0/8, ::1/128, 10.0.0.0/8] (smtp.trusted_networks)"},
		{name: "outside client expected to relay",
			test:   `client = "2001:db8::5"` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"",
			passed: false, actual: Outcome{Refused, "", "unknown", 554, ""},
			reply: "554 5.7.1 <a@example.com>: Relay access denied"},
		{name: "bad sender",
			test:   `from = "nobody"` + "\nto = [\"a@example.com\"]\nexpect = \"refused\"\nexpect_code = 501",
			passed: true, actual: Outcome{Refused, "", "unknown", 501, ""},
			reply: "501 5.1.7 Bad sender address syntax"},
		{name: "bad recipient among good ones",
			test:   `to = ["a@example.com", "nobody", "b@example.com"]` + "\nexpect = \"relayed\"",
			passed: false, actual: Outcome{Refused, "", "unknown", 501, ""},
			reply: "501 5.1.3 Bad recipient address syntax", inTrail: "rcpt: <b@example.com> accepted"},
		{name: "too many recipients",
			doc:    "[smtp]\nmax_recipients = 1\n",
			test:   `to = ["a@example.com", "b@example.com"]` + "\nexpect = \"refused\"\nexpect_code = 452",
			passed: true, actual: Outcome{Refused, "", "unknown", 452, ""},
			reply: "452 4.5.3 Maximum limit of 1 recipients reached", inTrail: "(smtp.max_recipients)"},
		{name: "message too large",
			doc:    "[smtp]\nmax_message_size = \"1KiB\"\n",
			test:   `message = "Subject: big\n\n` + strings.Repeat("x", 1100) + `\n"` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"",
			passed: false, actual: Outcome{Refused, "", "unknown", 552, ""},
			reply: "552 5.3.4 Maximum message size exceeded", inTrail: "(smtp.max_message_size)"},
		{name: "mail loop",
			doc:    "[smtp]\nmax_received_headers = 2\n",
			test:   `message = """` + loop + `"""` + "\nto = [\"a@example.com\"]\nexpect = \"refused\"\nexpect_code = 554",
			passed: true, actual: Outcome{Refused, "", "unknown", 554, ""},
			reply: "554 5.4.6 Too many hops: mail loop detected"},
		{name: "received fields under the limit",
			test:   `message = """` + loop + `"""` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"",
			passed: true, actual: Outcome{Relayed, "mx1.example.org:25", "unknown", 250, ""},
			inTrail: "data: message of 74 bytes with 3 Received: fields (at most 50) accepted"},
		{name: "sendmail user of a service",
			doc:    "[smtp]\ntrusted_networks = []\n",
			test:   `user = "gerrit"` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"\nexpect_service = \"gerrit\"",
			passed: true, actual: Outcome{Relayed, "mx1.example.org:25", "gerrit", 250, ""},
			inTrail: "service: gerrit lists Unix user gerrit (service[0].users[0])"},
		{name: "sendmail user of no service",
			test:   `user = "alice"` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"\nexpect_service = \"gerrit\"",
			passed: false, actual: Outcome{Relayed, "mx1.example.org:25", "alice", 250, ""},
			inTrail: "service: alice: no [[service]] lists Unix user alice, so it is named after the user"},
		{name: "service with users only",
			test:   `service = "cron"` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"\nexpect_service = \"cron\"",
			passed: true, actual: Outcome{Relayed, "mx1.example.org:25", "cron", 250, ""},
			inTrail: "client: posthorn sendmail run by Unix user root, the first user of service cron (service[1].users[0])"},
		{name: "direct delivery",
			doc:    "[delivery]\nupstreams = []\n",
			test:   `to = ["a@example.com", "b@example.net", "c@example.com"]` + "\nexpect = \"relayed\"\nexpect_upstream = \"direct\"",
			passed: true, actual: Outcome{Relayed, "direct", "unknown", 250, ""},
			inTrail: "route: no upstreams: direct delivery to the MX of example.com, example.net on port 25 (TLS opportunistic) (delivery.upstreams)"},
		{name: "wrong upstream",
			test:   `to = ["a@example.com"]` + "\nexpect = \"relayed\"\nexpect_upstream = \"mx2.example.org:587\"",
			passed: false, actual: Outcome{Relayed, "mx1.example.org:25", "unknown", 250, ""}},
		{name: "wrong code",
			test:   `client = "192.0.2.9"` + "\nto = [\"a@example.com\"]\nexpect = \"refused\"\nexpect_code = 550",
			passed: false, actual: Outcome{Refused, "", "unknown", 554, ""},
			reply: "554 5.7.1 <a@example.com>: Relay access denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			doc := base
			if c.doc != "" {
				doc = mergeDoc(base, c.doc)
			}
			cfg := load(t, doc+"[[test]]\nname = \"x\"\n"+c.test+"\n")
			res := Run(context.Background(), cfg, casesOnly())
			if len(res.Cases) != 1 {
				t.Fatalf("%d cases", len(res.Cases))
			}
			got := res.Cases[0]
			if got.Err != nil {
				t.Fatalf("case error: %v", got.Err)
			}
			if got.Passed != c.passed || got.Actual != c.actual {
				t.Errorf("passed %v, actual %+v; want %v, %+v", got.Passed, got.Actual, c.passed, c.actual)
			}
			if res.Failed() == c.passed {
				t.Errorf("Failed() = %v with passed %v", res.Failed(), c.passed)
			}
			reply := ""
			if got.Reply != nil {
				reply = got.Reply.Error()
			}
			if reply != c.reply {
				t.Errorf("reply %q, want %q", reply, c.reply)
			}
			trail := trailText(got.Trail)
			if c.inTrail != "" && !strings.Contains(trail, c.inTrail+"\n") {
				t.Errorf("trail lacks %q:\n%s", c.inTrail, trail)
			}
		})
	}
}

// mergeDoc puts the keys of extra's tables into base's tables of the same
// name (TOML forbids defining a table twice).
func mergeDoc(base, extra string) string {
	out := base
	var table string
	for _, line := range strings.Split(strings.TrimSpace(extra), "\n") {
		if strings.HasPrefix(line, "[") {
			table = line
			continue
		}
		key, _, _ := strings.Cut(line, " =")
		lines := strings.Split(out, "\n")
		in, replaced := false, false
		for i, l := range lines {
			if strings.HasPrefix(l, "[") {
				if in && !replaced {
					lines[i] = line + "\n" + l
					replaced = true
				}
				in = l == table
				continue
			}
			if in && strings.HasPrefix(l, key+" =") {
				lines[i], replaced = line, true
			}
		}
		out = strings.Join(lines, "\n")
		if !replaced {
			out = table + "\n" + line + "\n" + out
		}
	}
	return out
}

func trailText(tr Trail) string {
	var b strings.Builder
	for _, s := range tr {
		b.WriteString(s.String() + "\n")
	}
	return b.String()
}

func TestMessageFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	msg := filepath.Join(dir, "loop.eml")
	if err := os.WriteFile(msg, []byte(strings.Repeat("Received: from x\n", 3)+"\nbody\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := mergeDoc(base, "[smtp]\nmax_received_headers = 2\n") +
		"[[test]]\nname = \"loop\"\nmessage_file = \"" + msg + "\"\nto = [\"a@example.com\"]\nexpect = \"refused\"\n" +
		"[[test]]\nname = \"gone\"\nmessage_file = \"" + filepath.Join(dir, "gone.eml") + "\"\nto = [\"a@example.com\"]\nexpect = \"relayed\"\n"
	res := Run(context.Background(), load(t, doc), casesOnly())
	if c := res.Cases[0]; !c.Passed || c.Actual.Code != 554 {
		t.Errorf("loop from a file: %+v", c)
	}
	if c := res.Cases[1]; c.Passed || c.Err == nil || !strings.Contains(c.Err.Error(), "no such file") {
		t.Errorf("missing message file: passed %v, err %v", c.Passed, c.Err)
	}
	var out bytes.Buffer
	if err := res.Write(&out, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `FAIL test "gone": could not run: message_file: open `) {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestSourcesAndCancel(t *testing.T) {
	t.Parallel()
	cfg := load(t, base+"[[test]]\nname = \"a\"\nto = [\"a@example.com\"]\nexpect = \"relayed\"\n")
	res := Run(context.Background(), cfg, Options{Invariants: []Invariant{}, Sources: []config.TestSource{{File: "p.toml", Line: 42}}})
	if res.Cases[0].Source.String() != "p.toml:42" {
		t.Errorf("source %v", res.Cases[0].Source)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = Run(ctx, cfg, Options{})
	if res.Err == nil || !res.Failed() || len(res.Cases) != 0 {
		t.Errorf("cancelled run: %+v", res)
	}
	if f := res.Failures(); len(f) != 1 || f[0] != "context canceled" {
		t.Errorf("Failures() = %q", f)
	}
}
