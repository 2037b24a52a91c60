package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/spool"

	"github.com/posthorn/posthorn/internal/testutil"
)

// testConfig writes a configuration using a fresh data directory and
// returns its path and the data directory.
func testConfig(t *testing.T, extra string) (cfgPath, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	cfgPath = filepath.Join(dir, "posthorn.toml")
	doc := fmt.Sprintf("hostname = \"app1.example.org\"\ndata_dir = %q\n%s", dataDir, extra)
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, dataDir
}

// dropped decodes every committed message in the drop directory.
func dropped(t *testing.T, dataDir string) map[string]*spool.Message {
	t.Helper()
	dir := filepath.Join(dataDir, "maildrop")
	out := map[string]*spool.Message{}
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return out
	}
	st, err := spool.Open(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Scan(false, func(r spool.ScanResult) {
		if r.Err != nil {
			t.Errorf("%s: %v", r.ID, r.Err)
			return
		}
		out[r.ID] = r.Msg
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func dropBody(t *testing.T, dataDir string, m *spool.Message) string {
	t.Helper()
	st, err := spool.Open(filepath.Join(dataDir, "maildrop"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return testutil.SpoolBody(t, st, m)
}

func onlyMessage(t *testing.T, dataDir string) *spool.Message {
	t.Helper()
	msgs := dropped(t, dataDir)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the drop directory, want 1", len(msgs))
	}
	for _, m := range msgs {
		return m
	}
	return nil
}

func sendmailRun(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runSendmail(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSendmailDrop(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	before := time.Now().Add(-time.Second)
	input := "Subject: disk almost full\nTo: ops@example.net\n\nline one\n.hidden\n"
	code, _, stderr := sendmailRun(t, input, "--config", cfg, "-f", "cron", "-i", "root", "ops@example.net")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := onlyMessage(t, data)
	if m.Env.From != "cron@app1.example.org" {
		t.Errorf("from = %q", m.Env.From)
	}
	if got := strings.Join(m.Env.Rcpts, ","); got != "root@app1.example.org,ops@example.net" {
		t.Errorf("rcpts = %s", got)
	}
	if m.Env.Client != "local" || m.Env.Service == "" || m.Env.Arrival.Before(before) || m.Env.Arrival.After(time.Now()) {
		t.Errorf("envelope = %+v", m.Env)
	}
	body := dropBody(t, data, m)
	for _, want := range []string{
		"Received: from local\r\n\tby app1.example.org (Posthorn) with local id " + m.Env.ID + ";",
		"Subject: disk almost full\r\n",
		"From: cron@app1.example.org\r\n",
		"Message-ID: <" + m.Env.ID + "@app1.example.org>\r\n",
		"\r\nDate: ",
		"\r\n\r\nline one\r\n.hidden\r\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if !strings.HasPrefix(body, "Received: ") {
		t.Errorf("Received: is not the first field:\n%s", body)
	}
	if strings.Contains(body, "for <") {
		t.Errorf("Received: names a recipient of a message with two:\n%s", body)
	}
}

func TestSendmailExtractRecipients(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	input := "From: App <app@example.org>\r\nTo: a@example.net, Bee <b@example.net>\r\nBcc: secret@example.net\r\n" +
		"Message-ID: <given@example.org>\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n\r\nhi\r\n"
	code, _, stderr := sendmailRun(t, input, "-t", "--config="+cfg, "-f", "bounces@example.org")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := onlyMessage(t, data)
	if got := strings.Join(m.Env.Rcpts, ","); got != "a@example.net,b@example.net,secret@example.net" {
		t.Errorf("rcpts = %s", got)
	}
	if m.Env.From != "bounces@example.org" {
		t.Errorf("from = %q", m.Env.From)
	}
	body := dropBody(t, data, m)
	if strings.Contains(body, "secret@") {
		t.Errorf("Bcc kept:\n%s", body)
	}
	if strings.Count(body, "Message-ID:") != 1 || strings.Count(body, "Date:") != 1 {
		t.Errorf("Message-ID or Date added although present:\n%s", body)
	}
}

func TestSendmailSingleRecipientTrace(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	if code, _, stderr := sendmailRun(t, "body only\n", "--config", cfg, "solo@example.net"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := onlyMessage(t, data)
	if body := dropBody(t, data, m); !strings.Contains(body, "\tfor <solo@example.net>;") {
		t.Errorf("Received: lacks the recipient:\n%s", body)
	}
}

func TestSendmailRejects(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "[smtp]\nmax_message_size = \"1KiB\"\n")
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"no recipients", "Subject: x\n\nbody\n", []string{"--config", cfg}, 64},
		{"-t without To", "Subject: x\n\nbody\n", []string{"--config", cfg, "-t"}, 64},
		{"unknown option", "x\n", []string{"--config", cfg, "-Z", "a@example.net"}, 64},
		{"too large", "Subject: x\n\n" + strings.Repeat("0123456789\n", 200), []string{"--config", cfg, "a@example.net"}, 65},
		{"bad header address", "To: <<<\n\nbody\n", []string{"--config", cfg, "-t"}, 65},
	}
	for _, tc := range cases {
		code, _, stderr := sendmailRun(t, tc.stdin, tc.args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (%s)", tc.name, code, tc.code, stderr)
		}
		if !strings.HasPrefix(stderr, "posthorn sendmail: ") {
			t.Errorf("%s: stderr = %q", tc.name, stderr)
		}
	}
	if n := len(dropped(t, data)); n != 0 {
		t.Fatalf("%d messages dropped by failed submissions", n)
	}
	entries, _ := os.ReadDir(filepath.Join(data, "maildrop"))
	if len(entries) != 0 {
		t.Fatalf("files left in the drop directory: %v", entries)
	}
}

func TestSendmailSpoolErrorIsTempfail(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	// The data directory is a file: the drop directory cannot be created.
	if err := os.WriteFile(data, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := sendmailRun(t, "hi\n", "--config", cfg, "a@example.net")
	if code != 75 {
		t.Fatalf("exit %d, want 75 (%s)", code, stderr)
	}
}

func TestSendmailBadConfig(t *testing.T) {
	t.Parallel()
	cfg, _ := testConfig(t, "no_such_key = 1\n")
	code, _, stderr := sendmailRun(t, "hi\n", "--config", cfg, "a@example.net")
	if code == 0 || !strings.Contains(stderr, "no_such_key") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestSendmailCreatesMaildrop(t *testing.T) {
	t.Parallel()
	cfg, data := testConfig(t, "")
	if code, _, stderr := sendmailRun(t, "hi\n", "--config", cfg, "a@example.net"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	fi, err := os.Stat(filepath.Join(data, "maildrop"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&(os.ModeSticky|os.ModePerm) != os.ModeSticky|0o733 {
		t.Fatalf("mode = %v", fi.Mode())
	}
}

func TestEnsureMaildrop(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if err := ensureMaildrop(data); err != nil {
		t.Fatal(err)
	}
	if err := ensureMaildrop(data); err != nil { // idempotent
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(data, "maildrop"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&(os.ModeSticky|os.ModePerm) != os.ModeSticky|0o733 {
		t.Fatalf("mode = %v", fi.Mode())
	}
}
