package mtasts

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoRecord means the domain publishes no usable _mta-sts TXT record:
// none at all, or none that is valid (RFC 8461 section 3.1 treats both as
// "no policy").
var ErrNoRecord = errors.New("mtasts: no MTA-STS TXT record")

// RecordError is a _mta-sts TXT record that cannot be used. It wraps
// ErrNoRecord, since the RFC treats an invalid record as an absent one.
type RecordError struct {
	Record string // the record, "" when the problem is the number of records
	Msg    string
}

func (e *RecordError) Error() string {
	if e.Record == "" {
		return "mtasts: TXT record: " + e.Msg
	}
	return fmt.Sprintf("mtasts: TXT record %q: %s", clip(e.Record), e.Msg)
}

func (e *RecordError) Unwrap() error { return ErrNoRecord }

// SelectRecord picks the policy id out of the TXT records of
// _mta-sts.<domain>: records that do not start with "v=STSv1" are
// discarded, and exactly one must remain and be valid.
func SelectRecord(records []string) (string, error) {
	var sts []string
	for _, r := range records {
		if rest, ok := strings.CutPrefix(r, "v=STSv1"); ok && (rest == "" || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t') {
			sts = append(sts, r)
		}
	}
	switch len(sts) {
	case 0:
		return "", ErrNoRecord
	case 1:
		return ParseRecord(sts[0])
	default:
		return "", &RecordError{Msg: fmt.Sprintf("%d records start with v=STSv1, want one", len(sts))}
	}
}

// ParseRecord parses one TXT record, "v=STSv1; id=20240101T000000;", and
// returns its id (1 to 32 letters and digits). Other fields are ignored
// when well formed.
func ParseRecord(rec string) (string, error) {
	rest, ok := strings.CutPrefix(rec, "v=STSv1")
	if !ok {
		return "", &RecordError{Record: rec, Msg: "does not start with v=STSv1"}
	}
	id := ""
	for _, f := range strings.Split(rest, ";")[1:] {
		f = strings.Trim(f, " \t")
		if f == "" {
			continue // the delimiter after the last field, or ";;"
		}
		name, value, ok := strings.Cut(f, "=")
		if !ok || !validExtName(name) || value == "" {
			return "", &RecordError{Record: rec, Msg: fmt.Sprintf("field %q is not name=value", clip(f))}
		}
		if name == "v" {
			return "", &RecordError{Record: rec, Msg: "repeats v="}
		}
		if name != "id" {
			if !validExtValue(value) {
				return "", &RecordError{Record: rec, Msg: fmt.Sprintf("field %s has an invalid value", name)}
			}
			continue
		}
		if id != "" {
			return "", &RecordError{Record: rec, Msg: "repeats id="}
		}
		if len(value) > 32 || !alnum(value) {
			return "", &RecordError{Record: rec, Msg: fmt.Sprintf("id %q must be 1 to 32 letters and digits", clip(value))}
		}
		id = value
	}
	if strings.Trim(strings.SplitN(rest, ";", 2)[0], " \t") != "" {
		return "", &RecordError{Record: rec, Msg: "v=STSv1 is not followed by \";\""}
	}
	if id == "" {
		return "", &RecordError{Record: rec, Msg: "has no id="}
	}
	return id, nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// validExtName checks sts-ext-name: a letter or digit, then up to 31 of
// letters, digits, "_", "-", ".".
func validExtName(s string) bool {
	if s == "" || len(s) > 32 || !alnum(s[:1]) {
		return false
	}
	return validKey(s)
}

// validExtValue checks sts-ext-value: printable ASCII except "=", ";" and
// space.
func validExtValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return true
}
