package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/posthorn/posthorn/internal/control"
)

// runReload is posthorn reload: ask the running daemon to load, check and
// apply its configuration file. Exit 0 applied, 1 refused (the daemon
// keeps its running configuration) or no daemon, 2 usage.
func runReload(args []string, stdout, stderr io.Writer) int {
	path, rest, err := configFlag(args)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn reload:", err)
		return 2
	}
	asJSON := false
	for _, a := range rest {
		switch a {
		case "--json", "-json":
			asJSON = true
		default:
			fmt.Fprintf(stderr, "posthorn reload: unknown argument %q\n", a)
			return 2
		}
	}
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "posthorn reload: refused, the file does not load; the running configuration stays")
		return 1
	}
	c := control.NewClient(pathsOf(cfg.DataDir).control)
	rc, err := c.Reload()
	if asJSON {
		out := struct {
			OK bool `json:"ok"`
			control.RunningConfig
			Error string `json:"error,omitempty"`
		}{OK: err == nil, RunningConfig: rc}
		if err != nil {
			out.Error = err.Error()
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	}
	if err != nil {
		var ce *control.Error
		if errors.As(err, &ce) {
			if !asJSON {
				fmt.Fprintf(stderr, "posthorn reload: refused, the running configuration stays:\n%s\n", ce.Message)
			}
			return 1
		}
		fmt.Fprintf(stderr, "posthorn reload: cannot reach posthorn serve for data_dir %s: %v\n", cfg.DataDir, err)
		return 1
	}
	if !asJSON {
		fmt.Fprintf(stdout, "reloaded: configuration %s loaded at %s\n", rc.Fingerprint[:12], rc.Loaded.Format("2006-01-02T15:04:05Z07:00"))
	}
	return 0
}
