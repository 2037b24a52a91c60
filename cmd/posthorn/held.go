package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/posthorn/posthorn/internal/control"
)

// runHeld is posthorn held: list a list's held posts, or moderate them,
// through the running daemon (which sends what a decision makes through its
// queue). Exit 0 done, 1 failed (for some post), 2 usage.
func runHeld(args []string, stdout, stderr io.Writer) int {
	path, rest, err := configFlag(args)
	usage := func(msg string) int {
		fmt.Fprintln(stderr, "posthorn held:", msg)
		fmt.Fprintln(stderr, "usage: posthorn held LIST [--json]\n       posthorn held approve|reject|discard|accept-always|defer LIST ID... [--reason R] [--moderator M]")
		return 2
	}
	if err != nil {
		return usage(err.Error())
	}
	var words []string
	asJSON := false
	reason, moderator := "", os.Getenv("SUDO_USER")
	if moderator == "" {
		moderator = os.Getenv("USER")
	}
	for i := 0; i < len(rest); i++ {
		switch a := rest[i]; a {
		case "--json":
			asJSON = true
		case "--reason", "--moderator":
			if i+1 >= len(rest) {
				return usage(a + " needs a value")
			}
			if a == "--reason" {
				reason = rest[i+1]
			} else {
				moderator = rest[i+1]
			}
			i++
		default:
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		return usage("name a list")
	}
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	c := control.NewClient(pathsOf(cfg.DataDir).control)
	if len(words) == 1 {
		posts, err := c.Held(words[0])
		if err != nil {
			fmt.Fprintln(stderr, "posthorn held:", err)
			return 1
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(posts)
			return 0
		}
		if len(posts) == 0 {
			fmt.Fprintf(stdout, "no posts held on %s\n", words[0])
		}
		for _, p := range posts {
			fmt.Fprintf(stdout, "%-6d %s  %-30s  %-24s  %s\n", p.ID, p.Held.Local().Format("2006-01-02 15:04"), p.Sender, p.Rule, p.Subject)
		}
		return 0
	}
	if len(words) < 3 {
		return usage("name the action, the list and at least one held post id")
	}
	action, list, code := words[0], words[1], 0
	for _, w := range words[2:] {
		id, err := strconv.ParseInt(w, 10, 64)
		if err != nil {
			return usage(fmt.Sprintf("%q is not a held post id", w))
		}
		if err := c.Moderate(list, id, action, reason, moderator); err != nil {
			fmt.Fprintf(stderr, "posthorn held: %s %d: %v\n", action, id, err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s %d: done\n", action, id)
	}
	return code
}
