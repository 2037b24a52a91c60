package main

import (
	"fmt"
	"io"
)

// runReload is posthorn reload (being built).
func runReload(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "posthorn reload: not implemented yet")
	return 2
}
