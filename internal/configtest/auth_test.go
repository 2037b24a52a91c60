package configtest

import (
	"context"
	"strings"
	"testing"
)

const authBase = `hostname = "relay.example.org"
[smtp]
trusted_networks = ["127.0.0.0/8"]
[delivery]
upstreams = ["mx1.example.org"]
[[service]]
name = "gerrit"
auth_password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
[[service]]
name = "sentry"
auth_user = "sentry-prod"
auth_password_hash = "$2b$04$abcdefghijklmnopqrstuuWZ0m9m8cXbT2ZiA1X3xR0bq1aXQ1rOu"
`

// TestLoginCases: a case with a login is decided as the daemon decides an
// AUTH with the right password: the login's service, relaying allowed, or
// the refusal (538 without TLS off loopback, 535 for a name no service
// has, 502 when no service can log in).
func TestLoginCases(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		doc     string // the configuration before the [[test]]
		test    string
		passed  bool
		actual  Outcome
		reply   string
		inTrail string
	}{
		{name: "login on loopback", doc: authBase,
			test:   `login = "sentry-prod"` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"\nexpect_service = \"sentry\"",
			passed: true, actual: Outcome{Relayed, "mx1.example.org:25", "sentry", 250, ""},
			inTrail: "auth: logged in as sentry-prod on a loopback connection: may relay (service[1].auth_user)"},
		{name: "login without TLS off loopback", doc: authBase,
			test:   `client = "192.0.2.7"` + "\nlogin = \"gerrit\"\nto = [\"a@example.com\"]\nexpect = \"refused\"\nexpect_code = 538",
			passed: true, actual: Outcome{Refused, "", "unknown", 538, ""},
			reply:   "538 5.7.11 Encryption required for requested authentication mechanism",
			inTrail: "auth: refused: 538 5.7.11 Encryption required for requested authentication mechanism (smtp.require_tls_for_auth)"},
		{name: "login allowed without TLS", doc: mergeDoc(authBase, "[smtp]\nrequire_tls_for_auth = false\n"),
			test:   `client = "192.0.2.7"` + "\nlogin = \"gerrit\"\nto = [\"a@example.com\"]\nexpect = \"relayed\"",
			passed: true, actual: Outcome{Relayed, "mx1.example.org:25", "gerrit", 250, ""},
			inTrail: "service: gerrit: the service of login gerrit (service[0].name)"},
		{name: "the service name is not its login", doc: authBase,
			test:   `login = "sentry"` + "\nto = [\"a@example.com\"]\nexpect = \"relayed\"",
			passed: false, actual: Outcome{Refused, "", "unknown", 535, ""},
			reply:   "535 5.7.8 Authentication credentials invalid",
			inTrail: "auth: refused: 535 5.7.8 Authentication credentials invalid (test.login)"},
		{name: "an old login must fail", doc: authBase,
			test:   `login = "sentry-old"` + "\nto = [\"a@example.com\"]\nexpect = \"refused\"\nexpect_code = 535",
			passed: true, actual: Outcome{Refused, "", "unknown", 535, ""},
			reply: "535 5.7.8 Authentication credentials invalid"},
		{name: "no service can log in", doc: base,
			test:   `login = "gerrit"` + "\nto = [\"a@example.com\"]\nexpect = \"refused\"",
			passed: true, actual: Outcome{Refused, "", "unknown", 502, ""},
			reply: "502 5.5.1 Authentication not available"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := load(t, c.doc+"[[test]]\nname = \"x\"\n"+c.test+"\n")
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
			reply := ""
			if got.Reply != nil {
				reply = got.Reply.Error()
			}
			if reply != c.reply {
				t.Errorf("reply %q, want %q", reply, c.reply)
			}
			if trail := trailText(got.Trail); c.inTrail != "" && !strings.Contains(trail, c.inTrail+"\n") {
				t.Errorf("trail lacks %q:\n%s", c.inTrail, trail)
			}
		})
	}
}
