package web

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The contrast test reads the stylesheets of every web page (this
// package's posthorn.css and the page-specific sheets of webui,
// archiveweb and dashboard), and checks each foreground/background pair
// the pages actually draw against WCAG 2.1: 4.5:1 for text (1.4.3), 3:1
// for the boundaries of controls, focus rings and state indicators
// (1.4.11). Pairs name CSS rules and properties, not colours, so that a
// colour changed in the CSS is checked again, and a rule renamed or
// removed fails the test until the pair list follows it.

const (
	textMin = 4.5 // WCAG 2.1 1.4.3, normal-size text
	uiMin   = 3.0 // WCAG 2.1 1.4.11, control boundaries and focus indicators
)

// rgb is a colour with 0..255 channels and an alpha of 0..1.
type rgb struct {
	r, g, b float64
	a       float64
}

func (c rgb) String() string {
	return fmt.Sprintf("#%02x%02x%02x", int(c.r), int(c.g), int(c.b))
}

// luminance is the relative luminance of WCAG 2.1 (sRGB, linearised).
func luminance(c rgb) float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is the WCAG contrast ratio of two opaque colours, 1..21.
func contrast(a, b rgb) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// over composites fg (possibly translucent) over the opaque bg.
func over(fg, bg rgb) rgb {
	if fg.a >= 1 {
		return fg
	}
	mix := func(f, b float64) float64 { return math.Round(f*fg.a + b*(1-fg.a)) }
	return rgb{mix(fg.r, bg.r), mix(fg.g, bg.g), mix(fg.b, bg.b), 1}
}

var colorToken = regexp.MustCompile(`#[0-9a-fA-F]{3,8}\b|rgba?\([^)]*\)|\b(?:white|black)\b`)

// parseColor reads #rgb, #rrggbb, #rrggbbaa, rgb(), rgba(), white, black.
func parseColor(s string) (rgb, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "white":
		return rgb{255, 255, 255, 1}, nil
	case "black":
		return rgb{0, 0, 0, 1}, nil
	}
	if hex, ok := strings.CutPrefix(s, "#"); ok {
		if len(hex) == 3 || len(hex) == 4 {
			var b strings.Builder
			for _, c := range hex {
				b.WriteRune(c)
				b.WriteRune(c)
			}
			hex = b.String()
		}
		if len(hex) != 6 && len(hex) != 8 {
			return rgb{}, fmt.Errorf("colour %q: bad length", s)
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			return rgb{}, fmt.Errorf("colour %q: %w", s, err)
		}
		c := rgb{a: 1}
		if len(hex) == 8 {
			c.a = float64(v&0xff) / 255
			v >>= 8
		}
		c.r, c.g, c.b = float64(v>>16&0xff), float64(v>>8&0xff), float64(v&0xff)
		return c, nil
	}
	if inner, ok := strings.CutPrefix(s, "rgba("); ok {
		s = "rgb(" + inner
	}
	if inner, ok := strings.CutPrefix(s, "rgb("); ok {
		parts := strings.FieldsFunc(strings.TrimSuffix(inner, ")"), func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
		if len(parts) != 3 && len(parts) != 4 {
			return rgb{}, fmt.Errorf("colour %q: want 3 or 4 components", s)
		}
		var v [4]float64
		v[3] = 1
		for i, p := range parts {
			f, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
			if err != nil {
				return rgb{}, fmt.Errorf("colour %q: %w", s, err)
			}
			if strings.HasSuffix(p, "%") {
				f = f / 100
				if i < 3 {
					f *= 255
				}
			}
			v[i] = f
		}
		return rgb{v[0], v[1], v[2], v[3]}, nil
	}
	return rgb{}, fmt.Errorf("colour %q: unsupported notation", s)
}

// sheet is what the contrast test needs of a set of stylesheets loaded
// on one page: the custom properties and each selector's declarations.
// A rule inside an at-rule block is keyed "@media (…) selector".
type sheet struct {
	vars  map[string]string
	rules map[string]map[string]string
}

var cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)

// loadSheets parses the files in cascade order into one sheet.
func loadSheets(t *testing.T, files ...string) *sheet {
	t.Helper()
	s := &sheet{vars: map[string]string{}, rules: map[string]map[string]string{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.parse(cssComment.ReplaceAllString(string(b), ""), ""); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return s
}

// parse reads a block of rules; at-rule blocks recurse with their
// prelude as prefix.
func (s *sheet) parse(css, prefix string) error {
	for range 10000 {
		css = strings.TrimSpace(css)
		if css == "" {
			return nil
		}
		open := strings.IndexByte(css, '{')
		if open < 0 {
			return fmt.Errorf("text after the last rule: %.40q", css)
		}
		prelude := strings.Join(strings.Fields(css[:open]), " ")
		end, depth := -1, 0
		for i := open; i < len(css) && end < 0; i++ {
			switch css[i] {
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					end = i
				}
			}
		}
		if end < 0 {
			return fmt.Errorf("unclosed block after %q", prelude)
		}
		body := css[open+1 : end]
		css = css[end+1:]
		if strings.HasPrefix(prelude, "@") {
			if err := s.parse(body, prefix+prelude+" "); err != nil {
				return err
			}
			continue
		}
		decls := map[string]string{}
		for d := range strings.SplitSeq(body, ";") {
			k, v, ok := strings.Cut(d, ":")
			if !ok {
				continue
			}
			decls[strings.TrimSpace(k)] = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "!important"))
		}
		for sel := range strings.SplitSeq(prelude, ",") {
			sel = strings.TrimSpace(sel)
			if sel == ":root" && prefix == "" {
				for k, v := range decls {
					if strings.HasPrefix(k, "--") {
						s.vars[k] = v
					}
				}
				continue
			}
			key := prefix + sel
			if s.rules[key] == nil {
				s.rules[key] = map[string]string{}
			}
			for k, v := range decls {
				s.rules[key][k] = v
			}
		}
	}
	return fmt.Errorf("too many rules")
}

var cssVar = regexp.MustCompile(`var\((--[\w-]+)\)`)

// color is the nth colour (from 0) in sel's prop, custom properties
// resolved; shorthands such as "outline: 3px solid var(--focus)" work.
func (s *sheet) color(sel, prop string, nth int) (rgb, error) {
	decls, ok := s.rules[sel]
	if !ok {
		return rgb{}, fmt.Errorf("no rule %q", sel)
	}
	v, ok := decls[prop]
	if !ok {
		return rgb{}, fmt.Errorf("rule %q has no %s", sel, prop)
	}
	for i := 0; i < 5 && strings.Contains(v, "var("); i++ {
		v = cssVar.ReplaceAllStringFunc(v, func(m string) string { return s.vars[cssVar.FindStringSubmatch(m)[1]] })
	}
	all := colorToken.FindAllString(v, -1)
	if nth >= len(all) {
		return rgb{}, fmt.Errorf("%s { %s: %s } has no colour number %d", sel, prop, v, nth+1)
	}
	return parseColor(all[nth])
}

// ref names a colour: rule, property and which colour in its value.
type ref struct {
	sel, prop string
	nth       int
}

func c(sel, prop string) ref { return ref{sel: sel, prop: prop} }

// pair is one foreground drawn on one background.
type pair struct {
	name   string
	fg, bg ref
	min    float64
}

// checkPairs fails for every pair below its minimum, naming it.
func checkPairs(t *testing.T, s *sheet, pairs []pair) {
	t.Helper()
	for _, p := range pairs {
		bg, err := s.color(p.bg.sel, p.bg.prop, p.bg.nth)
		if err != nil {
			t.Errorf("%s: background: %v", p.name, err)
			continue
		}
		if bg.a < 1 {
			t.Errorf("%s: background %s is translucent; name the opaque colour under it instead", p.name, bg)
			continue
		}
		fg, err := s.color(p.fg.sel, p.fg.prop, p.fg.nth)
		if err != nil {
			t.Errorf("%s: foreground: %v", p.name, err)
			continue
		}
		fg = over(fg, bg)
		if r := contrast(fg, bg); r < p.min {
			t.Errorf("%s: %s on %s has contrast %.2f:1, want at least %.1f:1", p.name, fg, bg, r, p.min)
		} else {
			t.Logf("%s: %s on %s: %.2f:1", p.name, fg, bg, r)
		}
	}
}

func TestContrastFormula(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000", "#fff", 21},
		{"#fff", "#fff", 1},
		{"#767676", "#fff", 4.54}, // the lightest grey that passes 4.5:1 on white
		{"#777777", "#fff", 4.48},
		{"rgb(0, 0, 255)", "white", 8.59},
	} {
		a, err := parseColor(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := parseColor(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := contrast(a, b); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("contrast(%s, %s) = %.3f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
	half, err := parseColor("rgba(0,0,0,.5)")
	if err != nil {
		t.Fatal(err)
	}
	if got := over(half, rgb{255, 255, 255, 1}); got.String() != "#808080" {
		t.Errorf("50%% black over white = %s", got)
	}
}
