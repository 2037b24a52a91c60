package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteDiff(t *testing.T) {
	t.Parallel()
	a := lines("hostname = 'a'\n\n[smtp]\nlisten = ['x']\nmax = 1\n\n[delivery]\nupstreams = []\ntls = 'none'\n")
	b := lines("hostname = 'a'\n\n[smtp]\nlisten = ['x']\nmax = 2\n\n[delivery]\nupstreams = ['mx1:25']\ntls = 'none'\n")
	var out bytes.Buffer
	writeDiff(&out, a, b, 0)
	want := "@@ [smtp] @@\n-max = 1\n+max = 2\n@@ [delivery] @@\n-upstreams = []\n+upstreams = ['mx1:25']\n"
	if out.String() != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	writeDiff(&out, a, a, 2)
	if out.Len() != 0 {
		t.Fatalf("diff of equal inputs: %q", out.String())
	}
	out.Reset()
	writeDiff(&out, []string{"x"}, []string{"x", "y"}, 1)
	if !strings.Contains(out.String(), "+y") || !strings.Contains(out.String(), " x") {
		t.Fatalf("appended line: %q", out.String())
	}
}
