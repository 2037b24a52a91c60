package configtest

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestInvariants(t *testing.T) {
	t.Parallel()
	roots := func(ok bool) func() bool { return func() bool { return ok } }
	for _, c := range []struct {
		name    string
		doc     string
		noRoots bool
		broken  map[string]string // invariant -> substring of a problem
		failed  bool
	}{
		{name: "sound", doc: base},
		{name: "defaults with a hostname", doc: "hostname = \"relay.example.org\"\n"},
		{name: "IPv4 everywhere", doc: mergeDoc(base, "[smtp]\ntrusted_networks = [\"127.0.0.1\", \"10.0.0.0/8\", \"0.0.0.0/0\"]\n"),
			broken: map[string]string{NoOpenRelay: "smtp.trusted_networks[2] 0.0.0.0/0 trusts every client: anyone may relay",
				LocalSubmission: "::1 is not in smtp.trusted_networks"}, failed: true},
		{name: "IPv6 everywhere", doc: mergeDoc(base, "[smtp]\ntrusted_networks = [\"127.0.0.0/8\", \"::1\", \"10.0.0.0/8\", \"::/0\"]\n"),
			broken: map[string]string{NoOpenRelay: "smtp.trusted_networks[3] ::/0 trusts every client"}, failed: true},
		{name: "a public range", doc: mergeDoc(base, "[smtp]\ntrusted_networks = [\"127.0.0.0/8\", \"::1\", \"10.0.0.0/8\", \"192.0.0.0/8\"]\n"),
			broken: map[string]string{NoOpenRelay: "client 192.0.2.1 (a documentation address, outside any real network) may relay: smtp.trusted_networks[3] 192.0.0.0/8 contains it"},
			failed: true},
		{name: "service outside the trusted networks", doc: mergeDoc(base, "[smtp]\ntrusted_networks = [\"127.0.0.0/8\", \"::1\"]\n"),
			broken: map[string]string{ServicesCanRelay: "service gerrit: service[0].networks[0] 10.1.0.0/24 is not in smtp.trusted_networks: its mail from 10.1.0.1 is refused 554"},
			failed: true},
		{name: "service partly trusted", doc: mergeDoc(base, "[smtp]\ntrusted_networks = [\"127.0.0.0/8\", \"::1\", \"10.1.0.0/25\"]\n"),
			broken: map[string]string{ServicesCanRelay: "is only partly in smtp.trusted_networks: its mail from 10.1.0.255 is refused 554"},
			failed: true},
		{name: "no local submission", doc: mergeDoc(base, "[smtp]\ntrusted_networks = [\"10.0.0.0/8\"]\n"),
			broken: map[string]string{LocalSubmission: "127.0.0.1 and ::1 are not in smtp.trusted_networks: local programs cannot relay by SMTP (posthorn sendmail still can)"}},
		{name: "required TLS without roots", noRoots: true,
			doc:    mergeDoc(base, "[delivery]\nupstream_tls = { \"mx2.example.org:587\" = \"required\" }\n"),
			broken: map[string]string{DeliveryPossible: "delivery.upstreams[1] mx2.example.org:587 requires TLS but there is no delivery.tls_ca_file"},
			failed: true},
		{name: "required TLS with system roots",
			doc: mergeDoc(base, "[delivery]\nupstream_tls = { \"mx2.example.org:587\" = \"required\" }\n")},
		{name: "direct delivery requiring TLS without roots", noRoots: true,
			doc:    mergeDoc(base, "[delivery]\nupstreams = []\ntls = \"required\"\n"),
			broken: map[string]string{DeliveryPossible: "direct delivery requires TLS (delivery.tls)"}, failed: true},
		{name: "opportunistic TLS needs no roots", noRoots: true, doc: base},
		{name: "localhost", doc: strings.Replace(base, "relay.example.org", "localhost", 1),
			broken: map[string]string{HostnameQualified: `hostname is "localhost"`}},
		{name: "short hostname", doc: strings.Replace(base, "relay.example.org", "relay", 1),
			broken: map[string]string{HostnameQualified: `hostname "relay" is not fully qualified`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := Run(context.Background(), load(t, c.doc), Options{SystemRoots: roots(!c.noRoots)})
			if len(res.Invariants) != len(Builtin()) {
				t.Fatalf("%d invariants run, want %d", len(res.Invariants), len(Builtin()))
			}
			for _, inv := range res.Invariants {
				want, broken := c.broken[inv.Name]
				switch {
				case broken && !slices.ContainsFunc(inv.Problems, func(p string) bool { return strings.Contains(p, want) }):
					t.Errorf("%s: problems %q, want one containing %q", inv.Name, inv.Problems, want)
				case !broken && !inv.Held():
					t.Errorf("%s: unexpected problems %q", inv.Name, inv.Problems)
				}
			}
			if res.Failed() != c.failed {
				t.Errorf("Failed() = %v, want %v", res.Failed(), c.failed)
			}
		})
	}
}

func TestFailuresNamesCasesAndInvariants(t *testing.T) {
	t.Parallel()
	doc := mergeDoc(base, "[smtp]\ntrusted_networks = [\"0.0.0.0/0\", \"::1\"]\n") +
		"[[test]]\nname = \"fails\"\nto = [\"a@example.com\"]\nexpect = \"refused\"\n" +
		"[[test]]\nname = \"passes\"\nto = [\"a@example.com\"]\nexpect = \"relayed\"\n"
	res := Run(context.Background(), load(t, doc), Options{})
	got := res.Failures()
	want := []string{`test "fails"`, "invariant " + NoOpenRelay}
	if !slices.Equal(got, want) {
		t.Errorf("Failures() = %q, want %q", got, want)
	}
}
