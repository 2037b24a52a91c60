package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/posthorn/posthorn/internal/control"
)

// runCheckDiff is posthorn check --diff: the effective difference between
// the configuration the running daemon uses and the file, both with
// defaults filled in and secrets redacted. Exit 0 when they are the same,
// 1 when they differ, 2 when either cannot be read.
func runCheckDiff(path string, stdout, stderr io.Writer) int {
	cfg, _, err := loadWithTests(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "posthorn check --diff: the file does not load")
		return 2
	}
	file, err := cfg.Redacted().TOML()
	if err != nil {
		fmt.Fprintln(stderr, "posthorn check --diff:", err)
		return 2
	}
	rc, err := control.NewClient(pathsOf(cfg.DataDir).control).Running()
	if err != nil {
		fmt.Fprintf(stderr, "posthorn check --diff: cannot ask posthorn serve for data_dir %s: %v\n", cfg.DataDir, err)
		return 2
	}
	if rc.Fingerprint == cfg.Fingerprint() {
		fmt.Fprintf(stdout, "the running configuration is the file (fingerprint %s, loaded %s)\n",
			short(rc.Fingerprint), rc.Loaded.Format("2006-01-02T15:04:05Z07:00"))
		return 0
	}
	fmt.Fprintf(stdout, "--- running (fingerprint %s, loaded %s)\n+++ %s (fingerprint %s)\n",
		short(rc.Fingerprint), rc.Loaded.Format("2006-01-02T15:04:05Z07:00"), path, short(cfg.Fingerprint()))
	writeDiff(stdout, lines(rc.TOML), lines(string(file)), 2)
	return 1
}

func short(fp string) string { return fp[:min(12, len(fp))] }

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// writeDiff prints a line diff of a and b: the lines only in a with "-",
// only in b with "+", and up to context unchanged lines around each
// change; "@@ table @@" names the TOML table a hunk is in.
func writeDiff(w io.Writer, a, b []string, context int) {
	ops := diffLines(a, b)
	show := make([]bool, len(ops))
	for i, op := range ops {
		if op.kind != ' ' {
			for j := max(0, i-context); j <= min(len(ops)-1, i+context); j++ {
				show[j] = true
			}
		}
	}
	table := ""
	printed := -2
	for i, op := range ops {
		if strings.HasPrefix(op.text, "[") {
			table = op.text
		}
		if !show[i] {
			continue
		}
		if printed != i-1 {
			fmt.Fprintf(w, "@@ %s @@\n", orTop(table))
		}
		fmt.Fprintf(w, "%c%s\n", op.kind, op.text)
		printed = i
	}
}

func orTop(t string) string {
	if t == "" {
		return "top level"
	}
	return t
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	text string
}

// diffLines is a longest-common-subsequence diff; configuration files are
// a few hundred lines, so the quadratic table is small.
func diffLines(a, b []string) []diffOp {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}
