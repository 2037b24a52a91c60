package main

import (
	"fmt"
	"io"
)

// runTrace is posthorn trace (being built).
func runTrace(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "posthorn trace: not implemented yet")
	return 2
}
