package postfix

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Message is one transaction captured by smtp-sink -d.
type Message struct {
	File       string   // dump file path
	ClientAddr string   // X-Client-Addr
	Helo       string   // X-Helo-Args
	MailArgs   string   // X-Mail-Args, e.g. "<a@example.org> BODY=8BITMIME"
	RcptArgs   []string // X-Rcpt-Args, in the order sent
	Data       []byte   // header and body as received, "\n" line ends
}

// From returns the envelope sender without its angle brackets and
// parameters.
func (m Message) From() string { return addrOf(m.MailArgs) }

// Rcpts returns the envelope recipients without brackets and parameters.
func (m Message) Rcpts() []string {
	out := make([]string, len(m.RcptArgs))
	for i, a := range m.RcptArgs {
		out[i] = addrOf(a)
	}
	return out
}

func addrOf(args string) string {
	a, _, _ := strings.Cut(args, " ")
	return strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
}

// Header returns the values of the named header field in m.Data (case
// insensitive, unfolded), in order.
func (m Message) Header(name string) []string {
	head, _, _ := bytes.Cut(m.Data, []byte("\n\n"))
	var out []string
	var cur *string
	for _, line := range strings.Split(string(head), "\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t') {
			if cur != nil {
				*cur += " " + strings.TrimSpace(line)
			}
			continue
		}
		cur = nil
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			out = append(out, strings.TrimSpace(v))
			cur = &out[len(out)-1]
		}
	}
	return out
}

// Body returns the part of m.Data after the header.
func (m Message) Body() []byte {
	_, body, _ := bytes.Cut(m.Data, []byte("\n\n"))
	return body
}

// Messages returns every transaction dumped so far (the sink must have been
// started with SinkOptions.Dump), sorted by file name. Call it after
// WaitCount; it waits up to 5 s for files still being written.
func (s *Sink) Messages(t testing.TB) []Message {
	t.Helper()
	if s.DumpDir == "" {
		t.Fatal("Sink.Messages: sink started without Dump")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs, err := readDumps(s.DumpDir)
		if err == nil {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("reading smtp-sink dumps: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// errIncomplete marks a dump file that does not yet end with the empty
// line smtp-sink writes after each message.
type errIncomplete struct{ file string }

func (e *errIncomplete) Error() string { return "dump file still being written: " + e.file }

func readDumps(dir string) ([]Message, error) {
	names, err := filepath.Glob(filepath.Join(dir, "msg.*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	msgs := make([]Message, 0, len(names))
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if !bytes.HasSuffix(raw, []byte("\n\n")) {
			return nil, &errIncomplete{file: name}
		}
		m, err := parseDump(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m.File = name
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// parseDump splits smtp-sink's X- records and its own three-line Received
// header from the message as received.
func parseDump(raw []byte) (Message, error) {
	var m Message
	r := bufio.NewReader(bytes.NewReader(raw))
	sawReceived := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return m, fmt.Errorf("dump ends inside smtp-sink's header")
		}
		line = strings.TrimSuffix(line, "\n")
		k, v, _ := strings.Cut(line, ": ")
		switch {
		case k == "X-Client-Addr":
			m.ClientAddr = v
		case k == "X-Client-Proto":
		case k == "X-Helo-Args":
			m.Helo = v
		case k == "X-Mail-Args":
			m.MailArgs = v
		case k == "X-Rcpt-Args":
			m.RcptArgs = append(m.RcptArgs, v)
		case k == "Received" && !sawReceived:
			sawReceived = true
		case sawReceived && strings.HasPrefix(line, "\t"):
		default:
			if !sawReceived {
				return m, fmt.Errorf("unexpected line before smtp-sink's Received: %q", line)
			}
			rest := append([]byte(line+"\n"), readAll(r)...)
			// smtp-sink appends one empty line after the message.
			m.Data = rest[:len(rest)-1]
			return m, nil
		}
	}
}

func readAll(r *bufio.Reader) []byte {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r)
	return buf.Bytes()
}
