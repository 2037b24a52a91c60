package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/testutil/postfix"
)

// sendFrom sends one message from the local address src (a loopback
// address: each one can be its own service).
func sendFrom(src, addr, subject string) error {
	return sendVia(src, addr, "app@example.org", "user@example.net", "Subject: "+subject+"\r\n\r\nbody\r\n")
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestServicesAreVisible: mail from two services shows per service in the
// metrics and on the dashboard, and the mail log names the service.
func TestServicesAreVisible(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.Start()
	httpAddr := postfix.FreeAddr(t)
	p := startPosthorn(t, relayConfig{Upstreams: []string{up.Addr()}, HTTPListen: httpAddr,
		Extra: "\n[[service]]\nname = \"gerrit\"\nnetworks = [\"127.0.0.2/32\"]\n" +
			"\n[[service]]\nname = \"phabricator\"\nnetworks = [\"127.0.0.3/32\"]\n"})
	for i := range 3 {
		if err := sendFrom("127.0.0.2", p.Addr, fmt.Sprintf("gerrit %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sendFrom("127.0.0.3", p.Addr, "phabricator 0"); err != nil {
		t.Fatal(err)
	}
	up.Wait(t, 4, 15*time.Second)
	p.waitQueueEmpty(t, 15*time.Second)

	_, metrics := httpGet(t, "http://"+httpAddr+"/metrics")
	for _, want := range []string{
		`posthorn_messages_accepted_total{service="gerrit"} 3`,
		`posthorn_messages_accepted_total{service="phabricator"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The statistics reach the dashboard at their next flush (every 5 s).
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, page := httpGet(t, "http://"+httpAddr+"/dashboard?range=hour")
		if code == 200 && strings.Contains(page, `data-service="gerrit"`) && strings.Contains(page, `data-service="phabricator"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dashboard never drew both services (status %d):\n%.2000s", code, page)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Run("browser", func(t *testing.T) { dashboardInBrowser(t, "http://"+httpAddr+"/dashboard?range=hour") })
	code, body := httpGet(t, "http://"+httpAddr+"/healthz")
	var hz struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &hz); err != nil || code != 200 || hz.Status != "ok" {
		t.Errorf("/healthz %d (%v): %s", code, err, body)
	}
	// The trace: every message's history by address, from the CLI and the web.
	deadline = time.Now().Add(20 * time.Second)
	for {
		out, _, err := p.run(nil, "trace", "--config", p.Config, "--json", "--since", "1h", "user@example.net")
		var res struct {
			Messages []struct {
				Service string `json:"service"`
				Events  []struct {
					Kind string `json:"kind"`
				} `json:"events"`
			} `json:"messages"`
		}
		_ = json.Unmarshal(out, &res)
		msgs := res.Messages
		kinds := map[string]int{}
		services := map[string]int{}
		for _, m := range msgs {
			services[m.Service]++
			for _, e := range m.Events {
				kinds[e.Kind]++
			}
		}
		if err == nil && len(msgs) == 4 && kinds["accepted"] == 4 && kinds["delivered"] == 4 && services["gerrit"] == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("posthorn trace never showed the 4 messages (err %v): kinds %v services %v\n%s", err, kinds, services, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, page := httpGet(t, "http://"+httpAddr+"/trace?q=user@example.net"); code != 200 || !strings.Contains(page, "delivered") {
		t.Errorf("/trace page %d:\n%.1500s", code, page)
	}
	log := testutil.TailFile(p.LogFile, 1000)
	if !strings.Contains(log, `"msg":"accepted","log":"mail"`) || !strings.Contains(log, `"service":"gerrit"`) {
		t.Errorf("mail log lacks accepted events with the service:\n%s", p.logTail(20))
	}
}

// TestSyslogForwarding: the mail log reaches a TCP syslog collector as
// RFC 5424 messages with octet-counting framing.
func TestSyslogForwarding(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	frames := make(chan string, 1000)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			var n int
			if _, err := fmt.Fscanf(r, "%d ", &n); err != nil {
				return
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(r, buf); err != nil {
				return
			}
			frames <- string(buf)
		}
	}()
	up := testutil.NewUpstream(t)
	up.Start()
	p := startPosthorn(t, relayConfig{Upstreams: []string{up.Addr()},
		Extra: fmt.Sprintf("\n[log.syslog]\naddress = %q\nmail_only = true\n", ln.Addr().String())})
	if err := sendFrom("127.0.0.1", p.Addr, "to the collector"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case f := <-frames:
			// <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG; mail facility (2) → PRI 16..23.
			if strings.HasPrefix(f, "<22>1 ") && strings.Contains(f, " posthorn ") &&
				strings.Contains(f, " mail [posthorn@32473 queue_id=") && strings.Contains(f, `"msg":"accepted"`) {
				return
			}
			if !strings.Contains(f, " mail ") {
				t.Errorf("mail_only forwarded a non-mail record: %s", f)
			}
		case <-deadline:
			t.Fatalf("no accepted record reached the collector; log:\n%s", p.logTail(20))
		}
	}
}
