package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/posthorn/posthorn/internal/health"
)

// healthTimeout bounds posthorn health's request to the daemon.
const healthTimeout = 10 * time.Second

// runHealth is posthorn health [--config FILE] [--nagios] [--json]: it
// asks the running daemon's /healthz (on http.listen) and prints its
// checks. Exit codes: with --nagios the plugin convention (0 OK,
// 1 WARNING, 2 CRITICAL, 3 UNKNOWN; an unreachable daemon is CRITICAL);
// otherwise 0 when every check is OK, 1 when any is not or the daemon
// cannot be asked, 2 for a usage error.
func runHealth(args []string, stdout, stderr io.Writer) int {
	path, rest, err := configFlag(args)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn health:", err)
		return 2
	}
	nagios, asJSON := false, false
	for _, a := range rest {
		switch a {
		case "--nagios", "-nagios":
			nagios = true
		case "--json", "-json":
			asJSON = true
		default:
			fmt.Fprintf(stderr, "posthorn health: unknown argument %q\nusage: posthorn health [--config FILE] [--nagios | --json]\n", a)
			return 2
		}
	}
	if nagios && asJSON {
		fmt.Fprintln(stderr, "posthorn health: --nagios and --json exclude each other")
		return 2
	}
	// fail reports a problem that prevents asking the daemon.
	fail := func(state health.State, msg string) int {
		if nagios {
			fmt.Fprintf(stdout, "POSTHORN %s - %s\n", strings.ToUpper(state.String()), strings.ReplaceAll(msg, "|", "/"))
			return int(state)
		}
		fmt.Fprintln(stderr, "posthorn health:", msg)
		return 1
	}

	cfg, err := loadConfig(path)
	if err != nil {
		return fail(health.Unknown, "cannot load configuration: "+oneLine(err.Error()))
	}
	if cfg.HTTP.Listen == "" {
		return fail(health.Unknown, "the HTTP listener is disabled (http.listen = \"\"), no /healthz to ask")
	}
	url := "http://" + dialAddr(cfg.HTTP.Listen) + "/healthz"
	body, err := fetchHealth(url)
	if err != nil {
		return fail(health.Critical, fmt.Sprintf("cannot reach posthorn at %s: %v", url, err))
	}
	var rep health.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		return fail(health.Unknown, fmt.Sprintf("%s answered something else than a health report: %v", url, err))
	}

	switch {
	case nagios:
		line, code := health.Nagios(rep)
		fmt.Fprintln(stdout, line)
		return code
	case asJSON:
		stdout.Write(body)
	default:
		printHealth(stdout, rep)
	}
	if rep.Status != health.OK {
		return 1
	}
	return 0
}

// fetchHealth GETs url and returns the body of a 200 or 503 answer.
func fetchHealth(url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return body, nil
}

// dialAddr turns a listen address into one to connect to: a wildcard
// host becomes the loopback address.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// printHealth writes the report as a table, then the daemon's scalar
// extra fields (configuration fingerprint, load time, …).
func printHealth(w io.Writer, rep health.Report) {
	fmt.Fprintf(w, "posthorn %s (checked %s)\n\n", strings.ToUpper(rep.Status.String()), localTime(rep.Time))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATE\tSINCE\tMESSAGE")
	for _, c := range rep.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, strings.ToUpper(c.State.String()), localTime(c.Since), oneLine(c.Message))
	}
	tw.Flush()
	var keys []string
	for k, v := range rep.Extra {
		switch v.(type) {
		case string, float64, bool:
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.Sort(keys)
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s:\t%v\n", k, rep.Extra[k])
	}
	tw.Flush()
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}
