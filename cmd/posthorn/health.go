package main

import (
	"fmt"
	"io"
)

// runHealth is posthorn health (being built).
func runHealth(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "posthorn health: not implemented yet")
	return 2
}
