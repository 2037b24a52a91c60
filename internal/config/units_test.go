package config

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"0s", 0},
		{"90s", 90 * time.Second},
		{"5d", 5 * 24 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"1.5d", 36 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"250ms", 250 * time.Millisecond},
		{"2us", 2 * time.Microsecond},
		{"1µs", time.Microsecond},
		{"-5m", -5 * time.Minute},
		{" 4h ", 4 * time.Hour},
		{"1d1d", 48 * time.Hour},
	}
	for _, tc := range good {
		got, err := ParseDuration(tc.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tc.in, err)
			continue
		}
		if time.Duration(got) != tc.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, time.Duration(got), tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", `invalid duration "": empty; use a string such as "90s" or "5d"`},
		{"5x", `invalid duration "5x": unknown unit "x"; use one of "ns", "us", "ms", "s", "m", "h", "d"`},
		{"90", `invalid duration "90": missing unit; use one of "ns", "us", "ms", "s", "m", "h", "d"`},
		{"d", `invalid duration "d": expected a number followed by a unit such as "s", "m", "h" or "d"`},
		{"1h-5m", `invalid duration "1h-5m": unknown unit "h-"; use one of "ns", "us", "ms", "s", "m", "h", "d"`},
		{"1 h", `invalid duration "1 h": unknown unit " h"; use one of "ns", "us", "ms", "s", "m", "h", "d"`},
		{"200000d", `invalid duration "200000d": too large`},
		{"99999999999h", `invalid duration "99999999999h": too large`},
	}
	for _, tc := range bad {
		_, err := ParseDuration(tc.in)
		var ue *UnitError
		if !errors.As(err, &ue) {
			t.Errorf("ParseDuration(%q) error = %v, want *UnitError", tc.in, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseDuration(%q) error\n got %s\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestDurationRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		d    time.Duration
		text string
	}{
		{0, "0s"},
		{5 * 24 * time.Hour, "5d"},
		{36 * time.Hour, "1d12h"},
		{4 * time.Hour, "4h"},
		{90 * time.Second, "1m30s"},
		{1500 * time.Millisecond, "1s500ms"},
		{time.Nanosecond, "1ns"},
		{-2 * time.Minute, "-2m"},
		{math.MaxInt64, "106751d23h47m16s854ms775us807ns"},
		{math.MinInt64 + 1, "-106751d23h47m16s854ms775us807ns"},
	}
	for _, tc := range cases {
		text, err := Duration(tc.d).MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if tc.text != "" && string(text) != tc.text {
			t.Errorf("MarshalText(%v) = %q, want %q", tc.d, text, tc.text)
		}
		if Duration(tc.d).String() != string(text) {
			t.Errorf("String(%v) = %q differs from MarshalText %q", tc.d, Duration(tc.d).String(), text)
		}
		var back Duration
		if err := back.UnmarshalText(text); err != nil {
			t.Errorf("UnmarshalText(%q): %v", text, err)
			continue
		}
		if time.Duration(back) != tc.d {
			t.Errorf("round trip of %v via %q gave %v", tc.d, text, time.Duration(back))
		}
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"100B", 100},
		{"100b", 100},
		{"512KiB", 512 << 10},
		{"25MiB", 25 << 20},
		{"25mib", 25 << 20},
		{"1GiB", 1 << 30},
		{"2TiB", 2 << 40},
		{"10KB", 10000},
		{"5MB", 5000000},
		{"1gb", 1000000000},
		{"25 MiB", 25 << 20},
	}
	for _, tc := range good {
		got, err := ParseSize(tc.in)
		if err != nil {
			t.Errorf("ParseSize(%q): %v", tc.in, err)
			continue
		}
		if int64(got) != tc.want {
			t.Errorf("ParseSize(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", `invalid size "": expected a whole number of bytes with an optional unit, such as "25MiB"`},
		{"MiB", `invalid size "MiB": expected a whole number of bytes with an optional unit, such as "25MiB"`},
		{"25XB", `invalid size "25XB": unknown unit; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB`},
		{"25K", `invalid size "25K": unknown unit; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB`},
		{"1.5GiB", `invalid size "1.5GiB": must be a whole number; use a smaller unit ("1536MiB", not "1.5GiB")`},
		{"-1MiB", `invalid size "-1MiB": must not be negative`},
		{"99999999999TiB", `invalid size "99999999999TiB": too large`},
		{"99999999999999999999", `invalid size "99999999999999999999": too large`},
	}
	for _, tc := range bad {
		_, err := ParseSize(tc.in)
		var ue *UnitError
		if !errors.As(err, &ue) {
			t.Errorf("ParseSize(%q) error = %v, want *UnitError", tc.in, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseSize(%q) error\n got %s\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestSizeRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		z    Size
		text string
	}{
		{0, "0B"},
		{25 << 20, "25MiB"},
		{1 << 30, "1GiB"},
		{512 << 10, "512KiB"},
		{1000, "1000B"},
		{1536 << 20, "1536MiB"},
		{3 << 40, "3TiB"},
	}
	for _, tc := range cases {
		text, err := tc.z.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if string(text) != tc.text || tc.z.String() != tc.text {
			t.Errorf("MarshalText(%d) = %q, String = %q, want %q", int64(tc.z), text, tc.z.String(), tc.text)
		}
		var back Size
		if err := back.UnmarshalText(text); err != nil || back != tc.z {
			t.Errorf("round trip of %d via %q gave %d, %v", int64(tc.z), text, int64(back), err)
		}
	}
}
