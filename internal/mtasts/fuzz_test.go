package mtasts

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that what it accepts keeps
// the promises made to the courier. The committed corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Parse(body)
		if err != nil {
			if p.Mode != "" || p.MX != nil {
				t.Fatalf("Parse returned %+v with error %v", p, err)
			}
			return
		}
		switch p.Mode {
		case ModeEnforce, ModeTesting:
			if len(p.MX) == 0 {
				t.Fatalf("mode %s without mx accepted", p.Mode)
			}
		case ModeNone:
		default:
			t.Fatalf("mode %q accepted", p.Mode)
		}
		if p.MaxAge < 0 || p.MaxAge > MaxMaxAge {
			t.Fatalf("max_age %v accepted", p.MaxAge)
		}
		for _, pat := range p.MX {
			if err := checkPattern(pat); err != nil || pat != strings.ToLower(pat) {
				t.Fatalf("pattern %q accepted: %v", pat, err)
			}
			host := pat
			if rest, ok := strings.CutPrefix(pat, "*."); ok {
				host = "x." + rest
			}
			if !p.Match(host) || !p.Match(strings.ToUpper(host)+".") {
				t.Fatalf("policy %v does not match %q", p.MX, host)
			}
		}
	})
}

// FuzzSelectRecord checks that the TXT record parser never panics and only
// returns ids of the allowed form.
func FuzzSelectRecord(f *testing.F) {
	f.Add("v=STSv1; id=20240101T000000;", "v=spf1 -all")
	f.Fuzz(func(t *testing.T, a, b string) {
		id, err := SelectRecord([]string{a, b})
		if err == nil && (id == "" || len(id) > 32 || !alnum(id)) {
			t.Fatalf("id %q accepted", id)
		}
	})
}
