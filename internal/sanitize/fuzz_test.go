package sanitize

import (
	"testing"
	"unicode/utf8"
)

func FuzzHTML(f *testing.F) {
	for _, p := range xssPayloads {
		f.Add(p)
	}
	f.Add(`<p>Hello <a href="https://example.org/">x</a><table><tr><td>1</table>`)
	f.Fuzz(func(t *testing.T, in string) {
		out := HTML(in)
		if err := checkSafe(out); err != nil {
			t.Fatalf("HTML(%q) = %q: %v", in, out, err)
		}
		if err := checkBalanced(out); err != nil {
			t.Fatalf("HTML(%q) = %q: %v", in, out, err)
		}
		if again := HTML(out); again != out {
			t.Fatalf("not idempotent: HTML(%q) = %q, then %q", in, out, again)
		}
		if txt := Text(in); utf8.ValidString(in) && !utf8.ValidString(txt) {
			t.Fatalf("Text(%q) = %q is not valid UTF-8", in, txt)
		}
	})
}
