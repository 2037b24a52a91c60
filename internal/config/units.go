package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in the config file as a string in Go
// syntax ("90s", "1h30m", "250ms") with one extra unit, "d" for 24 hours
// ("5d", "1d12h"). "0" is zero.
type Duration time.Duration

// UnitError reports a Duration or Size string that does not parse.
type UnitError struct {
	Kind   string // "duration" or "size"
	Input  string // the text as written
	Reason string // why it was refused
}

func (e *UnitError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Kind, e.Input, e.Reason)
}

const day = 24 * time.Hour

// ParseDuration parses a duration in Go syntax extended with the unit "d".
func ParseDuration(s string) (Duration, error) {
	bad := func(reason string) (Duration, error) {
		return 0, &UnitError{Kind: "duration", Input: s, Reason: reason}
	}
	text := strings.TrimSpace(s)
	if text == "" {
		return bad(`empty; use a string such as "90s" or "5d"`)
	}
	neg := false
	rest := text
	if rest[0] == '-' || rest[0] == '+' {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	if rest == "0" {
		return 0, nil
	}
	// Each term is a number and a unit; "d" is ours, the others are
	// left to time.ParseDuration, which handles fractions exactly.
	var total time.Duration
	for rest != "" {
		n := numberPrefix(rest)
		if n == 0 {
			return bad(`expected a number followed by a unit such as "s", "m", "h" or "d"`)
		}
		num := rest[:n]
		rest = rest[n:]
		u := unitPrefix(rest)
		unit := rest[:u]
		rest = rest[u:]
		var term time.Duration
		switch unit {
		case "":
			return bad(`missing unit; use one of "ns", "us", "ms", "s", "m", "h", "d"`)
		case "d":
			if i, err := strconv.ParseInt(num, 10, 64); err == nil {
				if i > math.MaxInt64/int64(day) {
					return bad("too large")
				}
				term = time.Duration(i) * day
			} else {
				f, err := strconv.ParseFloat(num, 64)
				if err != nil || f*float64(day) >= math.MaxInt64 {
					return bad("too large")
				}
				term = time.Duration(f * float64(day))
			}
		case "ns", "us", "\u00b5s", "\u03bcs", "ms", "s", "m", "h":
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				return bad("too large")
			}
			term = d
		default:
			return bad(fmt.Sprintf(`unknown unit %q; use one of "ns", "us", "ms", "s", "m", "h", "d"`, unit))
		}
		if total > math.MaxInt64-term {
			return bad("too large")
		}
		total += term
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// numberPrefix returns the length of the decimal number ("12", "1.5", ".5")
// at the start of s.
func numberPrefix(s string) int {
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0
	}
	return i
}

// unitPrefix returns the length of the unit at the start of s: everything up
// to the next digit or dot.
func unitPrefix(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c >= '0' && c <= '9') || c == '.' {
			return i
		}
	}
	return len(s)
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalText implements encoding.TextMarshaler; the result parses back to
// the same value.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// String formats d compactly with the units d, h, m, s, ms, us and ns, for
// example "5d", "1d12h", "1m30s" or "0s".
func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	u := uint64(d)
	if d < 0 {
		b.WriteByte('-')
		u = -u // two's complement: also right for math.MinInt64
	}
	units := []struct {
		name string
		size uint64
	}{
		{"d", uint64(day)}, {"h", uint64(time.Hour)}, {"m", uint64(time.Minute)},
		{"s", uint64(time.Second)}, {"ms", uint64(time.Millisecond)},
		{"us", uint64(time.Microsecond)}, {"ns", 1},
	}
	for _, unit := range units {
		if n := u / unit.size; n > 0 {
			b.WriteString(strconv.FormatUint(n, 10))
			b.WriteString(unit.name)
			u -= n * unit.size
		}
	}
	return b.String()
}

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Size is a number of bytes, written in the config file as a string with a
// unit: "25MiB", "512KiB", "1GiB", "100B" (binary units, powers of 1024) or
// "10KB", "5MB", "1GB" (powers of 1000), units case-insensitive; plain digits
// ("1048576", or a TOML integer) are bytes.
type Size int64

// sizeMultiplier returns the number of bytes in one unit (lower case).
func sizeMultiplier(unit string) (int64, bool) {
	switch unit {
	case "", "b":
		return 1, true
	case "kb":
		return 1000, true
	case "mb":
		return 1000 * 1000, true
	case "gb":
		return 1000 * 1000 * 1000, true
	case "tb":
		return 1000 * 1000 * 1000 * 1000, true
	case "kib":
		return 1 << 10, true
	case "mib":
		return 1 << 20, true
	case "gib":
		return 1 << 30, true
	case "tib":
		return 1 << 40, true
	}
	return 0, false
}

// ParseSize parses a size such as "25MiB" or "1048576".
func ParseSize(s string) (Size, error) {
	bad := func(reason string) (Size, error) {
		return 0, &UnitError{Kind: "size", Input: s, Reason: reason}
	}
	text := strings.TrimSpace(s)
	i := 0
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	if i == 0 {
		if strings.HasPrefix(text, "-") {
			return bad("must not be negative")
		}
		return bad(`expected a whole number of bytes with an optional unit, such as "25MiB"`)
	}
	n, err := strconv.ParseInt(text[:i], 10, 64)
	if err != nil {
		return bad("too large")
	}
	unit := strings.ToLower(strings.TrimSpace(text[i:]))
	mult, ok := sizeMultiplier(unit)
	if !ok {
		if strings.HasPrefix(unit, ".") {
			return bad(`must be a whole number; use a smaller unit ("1536MiB", not "1.5GiB")`)
		}
		return bad(`unknown unit; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB`)
	}
	if n > math.MaxInt64/mult {
		return bad("too large")
	}
	return Size(n * mult), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (z *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*z = v
	return nil
}

// MarshalText implements encoding.TextMarshaler; the result parses back to
// the same value for every size that is not negative.
func (z Size) MarshalText() ([]byte, error) {
	return []byte(z.String()), nil
}

// String formats z with the largest binary unit that divides it exactly:
// "25MiB", "1GiB", "1000B".
func (z Size) String() string {
	if z != 0 {
		for _, u := range []struct {
			name string
			size int64
		}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
			if int64(z)%u.size == 0 {
				return strconv.FormatInt(int64(z)/u.size, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(z), 10) + "B"
}
