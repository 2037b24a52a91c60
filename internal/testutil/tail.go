package testutil

import (
	"os"
	"strings"
)

// TailFile returns the last n lines of the file at path, or the read error's
// text, for showing a log in a test failure.
func TailFile(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
