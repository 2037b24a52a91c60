package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strconv"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

const explainUsage = `usage: posthorn explain [--config FILE] LIST MESSAGE-FILE [--from ADDR] [--rcpts N] [--json]
Runs MESSAGE-FILE ("-" for standard input) through the posting rules of LIST
in their order and prints each rule (hit, miss, or not reached after the
rule that decided) and the resulting action. Nothing is recorded, held or
sent: it is a dry run against the list's current settings and members.
  --from ADDR  envelope sender (default: the address in the From field)
  --rcpts N    number of envelope recipients (default 1)
  --json       the decision as JSON
exit status: 0 evaluated (whatever the action), 1 failed, 2 usage`

// explainRule is one line of the explanation: a rule of the chain and
// what it did with the message.
type explainRule struct {
	lists.RuleHit
	Reached bool `json:"reached"`
	Decided bool `json:"decided,omitempty"`
}

// explanation is the JSON output of posthorn explain.
type explanation struct {
	List         string        `json:"list"`
	MessageID    string        `json:"message_id,omitempty"`
	EnvelopeFrom string        `json:"envelope_from"`
	Poster       string        `json:"poster,omitempty"`
	PosterSource string        `json:"poster_source,omitempty"`
	Member       bool          `json:"member"`
	Action       lists.Action  `json:"action"`
	Rule         string        `json:"rule,omitempty"`
	Reason       string        `json:"reason,omitempty"`
	Error        string        `json:"error,omitempty"`
	Rules        []explainRule `json:"rules"`
}

func runExplain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usage := func(msg string) int {
		if msg != "" {
			fmt.Fprintln(stderr, "posthorn explain:", msg)
		}
		fmt.Fprintln(stderr, explainUsage)
		return 2
	}
	path, rest, err := configFlag(args)
	if err != nil {
		return usage(err.Error())
	}
	if len(rest) == 1 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help") {
		fmt.Fprintln(stdout, explainUsage)
		return 0
	}
	ca, err := parseCmdArgs(rest, []string{"--from", "--rcpts"}, []string{"--json"})
	if err != nil {
		return usage(err.Error())
	}
	if len(ca.words) != 2 {
		return usage("name a list and a message file")
	}
	rcpts := 1
	if v, ok := ca.opts["--rcpts"]; ok {
		if rcpts, err = strconv.Atoi(v); err != nil || rcpts < 1 {
			return usage(fmt.Sprintf("--rcpts %q is not a positive number", v))
		}
	}
	list, file := ca.words[0], ca.words[1]
	raw, err := readMessageFile(file, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn explain:", err)
		return 1
	}
	envFrom, explicit := ca.opts["--from"]
	if !explicit {
		envFrom = fromAddress(raw)
	}
	post, err := lists.ReadPost(strings.NewReader(string(raw)), envFrom, rcpts)
	if err != nil {
		fmt.Fprintf(stderr, "posthorn explain: %s is not a message: %v\n", file, err)
		return 1
	}
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx := context.Background()
	db, st, err := openLists(ctx, cfg.DataDir, secretPath(cfg), stderr)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn explain:", err)
		return 1
	}
	defer db.Close()
	d := lists.NewChain(st, lists.ChainOptions{}).Evaluate(ctx, list, post)
	ex := explain(d, envFrom)
	if ca.has("--json") {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ex); err != nil {
			return 1
		}
		return 0
	}
	printExplanation(stdout, ex)
	return 0
}

func readMessageFile(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(stdin, 1<<30))
	}
	return os.ReadFile(name)
}

// fromAddress is the first address of raw's From field, "" when there is
// none that parses.
func fromAddress(raw []byte) string {
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return ""
	}
	as, err := m.Header.AddressList("From")
	if err != nil || len(as) == 0 {
		return ""
	}
	return as[0].Address
}

// explain lays d out over the whole chain: the rules d evaluated, then the
// ones it did not reach.
func explain(d lists.Decision, envFrom string) explanation {
	ex := explanation{
		List: d.List, MessageID: d.MessageID, EnvelopeFrom: envFrom, Poster: d.Poster, PosterSource: d.PosterSource,
		Member: d.Member, Action: d.Action, Rule: d.Rule, Reason: d.Reason, Error: d.Err,
	}
	seen := map[string]bool{}
	for _, h := range d.Rules {
		seen[h.Rule] = true
		ex.Rules = append(ex.Rules, explainRule{RuleHit: h, Reached: true, Decided: h.Rule == d.Rule && h.Hit})
	}
	if len(d.Rules) == 0 && d.Rule != "" {
		return ex // the chain did not start (unknown list, settings error)
	}
	for _, name := range lists.RuleOrder() {
		if !seen[name] {
			ex.Rules = append(ex.Rules, explainRule{RuleHit: lists.RuleHit{Rule: name}})
		}
	}
	return ex
}

func printExplanation(w io.Writer, ex explanation) {
	fmt.Fprintf(w, "list:           %s\n", ex.List)
	if ex.MessageID != "" {
		fmt.Fprintf(w, "message-id:     %s\n", ex.MessageID)
	}
	fmt.Fprintf(w, "envelope from:  %s\n", orNone(ex.EnvelopeFrom))
	if ex.Poster != "" {
		kind := "not a member"
		if ex.Member {
			kind = "member"
		}
		src := map[string]string{"from": "the From field", "sender": "the Sender field",
			"reply-to": "the Reply-To field", "envelope": "the envelope sender"}[ex.PosterSource]
		if src == "" {
			src = ex.PosterSource
		}
		fmt.Fprintf(w, "poster:         %s (%s; %s)\n", ex.Poster, src, kind)
	}
	fmt.Fprintln(w)
	for i, r := range ex.Rules {
		state := "miss"
		switch {
		case !r.Reached:
			state = "not reached"
		case r.Err != "":
			state = "ERROR"
		case r.Hit && r.Action != "":
			state = "hit → " + string(r.Action)
		case r.Hit:
			state = "hit (recorded)"
		}
		line := fmt.Sprintf("%2d  %-22s %-16s", i+1, r.Rule, state)
		if r.Err != "" {
			line += " " + r.Err
		} else if r.Detail != "" {
			line += " " + r.Detail
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	fmt.Fprintln(w)
	result := "result:         " + strings.ToUpper(string(ex.Action))
	if ex.Rule != "" {
		result += " by " + ex.Rule
	}
	if ex.Reason != "" {
		result += " (" + ex.Reason + ")"
	}
	fmt.Fprintln(w, result)
	if ex.Error != "" {
		fmt.Fprintln(w, "error:          "+ex.Error+" (the post is held when a rule fails)")
	}
}

func orNone(s string) string {
	if s == "" {
		return "<> (null sender)"
	}
	return s
}
