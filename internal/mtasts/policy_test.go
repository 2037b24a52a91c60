package mtasts

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want Policy
	}{
		{"crlf", "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET.\r\nmax_age: 604800\r\n",
			Policy{Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net"}, MaxAge: 604800 * time.Second}},
		{"lf, any order, spaces, unknown field", "max_age:86400\nmx:  mx.example.org \t\nfoo.bar-baz: whatever: x\nmode: testing\nversion: STSv1",
			Policy{Mode: ModeTesting, MX: []string{"mx.example.org"}, MaxAge: 86400 * time.Second}},
		{"none without mx", "version: STSv1\nmode: none\nmax_age: 0\n\n",
			Policy{Mode: ModeNone}},
		{"largest max_age", "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557600\n",
			Policy{Mode: ModeEnforce, MX: []string{"a.b"}, MaxAge: MaxMaxAge}},
	} {
		got, err := Parse([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const ok = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 3600\n"
	for _, tc := range []struct {
		in    string
		line  int
		field string
		err   string
	}{
		{"", 0, "version", "mtasts: policy version: missing"},
		{"version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1", 1, "version", `mtasts: policy line 1 version: is "STSv2", want STSv1`},
		{"version: STSv1\nmode: enforcing\nmx: a.b\nmax_age: 1", 2, "mode", `mtasts: policy line 2 mode: is "enforcing", want enforce, testing or none`},
		{"version: STSv1\nmode: enforce\nmax_age: 1", 0, "mx", "mtasts: policy mx: missing: mode enforce needs at least one mx"},
		{"version: STSv1\nmode: testing\nmx: a.b", 0, "max_age", "mtasts: policy max_age: missing"},
		{ok + "max_age: 60\n", 5, "max_age", "mtasts: policy line 5 max_age: repeated (first on line 4)"},
		{ok + "mode: none\n", 5, "mode", "mtasts: policy line 5 mode: repeated (first on line 2)"},
		{"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601", 4, "max_age", "mtasts: policy line 4 max_age: is 31557601 seconds, more than the maximum 31557600"},
		{"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 99999999999", 4, "max_age", `mtasts: policy line 4 max_age: is "99999999999", want up to 10 digits`},
		{"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1", 4, "max_age", `mtasts: policy line 4 max_age: is "-1", want up to 10 digits`},
		{"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 9999999999", 4, "max_age", "mtasts: policy line 4 max_age: is 9999999999 seconds, more than the maximum 31557600"},
		{"version: STSv1\nmode: enforce\nmx: *.com\nmax_age: 1", 3, "mx", `mtasts: policy line 3 mx: "*.com": wildcard needs at least two labels after "*."`},
		{"version: STSv1\nmode: enforce\nmx: a.*.com\nmax_age: 1", 3, "mx", `mtasts: policy line 3 mx: "a.*.com": label "*" has invalid character '*'`},
		{"version: STSv1\nmode: enforce\nmx: a..com\nmax_age: 1", 3, "mx", `mtasts: policy line 3 mx: "a..com": label "" must have 1 to 63 characters`},
		{"version: STSv1\nmode: enforce\nmx: -a.com\nmax_age: 1", 3, "mx", `mtasts: policy line 3 mx: "-a.com": label "-a" starts or ends with a hyphen`},
		{"version: STSv1\nmode: enforce\nmx:\nmax_age: 1", 3, "mx", `mtasts: policy line 3 mx: "": empty host name`},
		{"version: STSv1\nmode enforce\n", 2, "", `mtasts: policy line 2: "mode enforce" is not a "key: value" field`},
		{"version: STSv1\n mode: enforce\n", 2, "", `mtasts: policy line 2: invalid field name " mode"`},
	} {
		_, err := Parse([]byte(tc.in))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want *ParseError", tc.in, err)
			continue
		}
		if pe.Line != tc.line || pe.Field != tc.field || pe.Error() != tc.err {
			t.Errorf("Parse(%q):\n got line %d field %q %q\nwant line %d field %q %q", tc.in, pe.Line, pe.Field, pe.Error(), tc.line, tc.field, tc.err)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	p := Policy{Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net"}}
	for host, want := range map[string]bool{
		"mail.example.com":    true,
		"MAIL.Example.COM.":   true,
		"mx1.example.net":     true,
		"MX2.EXAMPLE.NET.":    true,
		"example.net":         false, // the wildcard needs one label
		"a.b.example.net":     false, // and only one
		".example.net":        false,
		"mail.example.com.au": false,
		"xmail.example.com":   false,
		"example.com":         false,
		"":                    false,
		".":                   false,
	} {
		if got := p.Match(host); got != want {
			t.Errorf("Match(%q) = %v, want %v", host, got, want)
		}
	}
	if (Policy{}).Match("mail.example.com") {
		t.Error("a policy without mx patterns matched")
	}
}

func TestSelectRecord(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		recs    []string
		id      string
		invalid bool // a *RecordError, else ErrNoRecord itself
	}{
		{[]string{"v=STSv1; id=20240101T000000;"}, "20240101T000000", false},
		{[]string{"v=spf1 -all", "v=STSv1;id=abc"}, "abc", false},
		{[]string{"v=STSv1 ; id=abc ; ext=va.lue-1"}, "abc", false},
		{nil, "", false},
		{[]string{"v=spf1 -all", "v=STSv10; id=1"}, "", false},
		{[]string{"v=STSv1; id=1", "v=STSv1; id=2"}, "", true},
		{[]string{"v=STSv1;"}, "", true},
		{[]string{"v=STSv1; id=has-dash"}, "", true},
		{[]string{"v=STSv1; id=123456789012345678901234567890123"}, "", true},
		{[]string{"v=STSv1; id=1; id=2"}, "", true},
		{[]string{"v=STSv1; v=STSv1; id=2"}, "", true},
		{[]string{"v=STSv1; id"}, "", true},
		{[]string{"v=STSv1; id=1; x=a=b"}, "", true},
		{[]string{"v=STSv1 junk; id=1"}, "", true},
	} {
		id, err := SelectRecord(tc.recs)
		if tc.id != "" {
			if err != nil || id != tc.id {
				t.Errorf("SelectRecord(%q) = %q, %v, want %q", tc.recs, id, err, tc.id)
			}
			continue
		}
		var re *RecordError
		if !errors.Is(err, ErrNoRecord) || errors.As(err, &re) != tc.invalid {
			t.Errorf("SelectRecord(%q) = %q, %v, want no record (invalid=%v)", tc.recs, id, err, tc.invalid)
		}
	}
}
