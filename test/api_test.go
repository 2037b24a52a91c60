package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var apiTokenRe = regexp.MustCompile(`(?m)^(ph_\S+)$`)

// apiToken makes an API token for email with the CLI and returns it.
func (s *wuiSite) apiToken(t *testing.T, email string) string {
	t.Helper()
	out := s.p.cli(t, "user", "token", "add", email, "test")
	m := apiTokenRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token in %q", out)
	}
	return m[1]
}

func (s *wuiSite) api(t *testing.T, token, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestListAPIThroughDaemon: with API tokens made by the CLI, a moderator
// approves a held post through /api/v1 and the members get it through the
// upstream; the owner of another list gets 403; no token gets 401; and
// the owner's settings change through the API is in the CLI history with
// the token's user as author.
func TestListAPIThroughDaemon(t *testing.T) {
	t.Parallel()
	s := startWebUISite(t)
	mod, owner, outsider := s.apiToken(t, wuiMod), s.apiToken(t, wuiOwner), s.apiToken(t, wuiOutsider)

	if code, body := s.api(t, "", "GET", "/api/v1/lists/"+wuiList+"/held", nil); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d %s", code, body)
	}
	s.post(t, "stranger@example.com", "API held post", "api-body-one")
	held := s.waitHeld(t, 1)
	path := fmt.Sprintf("/api/v1/lists/%s/held/%d", wuiList, held[0].ID)
	if code, body := s.api(t, outsider, "POST", path, map[string]string{"action": "approve"}); code != http.StatusForbidden {
		t.Fatalf("owner of another list approving: %d %s", code, body)
	}
	code, body := s.api(t, mod, "GET", "/api/v1/lists/"+wuiList+"/held", nil)
	if code != http.StatusOK || !strings.Contains(body, "API held post") {
		t.Fatalf("held list: %d %s", code, body)
	}
	if code, body := s.api(t, mod, "POST", path, map[string]string{"action": "approve", "reason": "fine"}); code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}
	s.waitDelivered(t, "api-body-one", "alice@example.net", "bob@example.net")

	code, body = s.api(t, owner, "PATCH", "/api/v1/lists/"+wuiList+"/settings",
		map[string]any{"settings": map[string]any{"subject_prefix": "[wt-api]"}, "reason": "shorter prefix"})
	if code != http.StatusOK {
		t.Fatalf("settings: %d %s", code, body)
	}
	hist := s.p.cli(t, "lists", "history", wuiList)
	if !strings.Contains(hist, wuiOwner) || !strings.Contains(hist, "shorter prefix") {
		t.Fatalf("history does not name the token's user and reason:\n%s", hist)
	}
	// The owner switches bob to plain-text digests (the moderator may not),
	// the CLI sees it and switches him back, and the API sees that.
	bob := "/api/v1/lists/" + wuiList + "/members/bob@example.net"
	if code, body := s.api(t, mod, "PATCH", bob, map[string]string{"mode": "digest"}); code != http.StatusForbidden {
		t.Fatalf("moderator setting a member's mode: %d %s", code, body)
	}
	if code, body := s.api(t, owner, "PATCH", bob, map[string]string{"mode": "fortnightly"}); code != http.StatusBadRequest {
		t.Fatalf("unknown mode: %d %s", code, body)
	}
	code, body = s.api(t, owner, "PATCH", bob, map[string]string{"mode": "digest", "digest_format": "plain"})
	if code != http.StatusOK {
		t.Fatalf("owner setting a member's mode: %d %s", code, body)
	}
	var rows []struct {
		Address      string `json:"address"`
		Mode         string `json:"mode"`
		DigestFormat string `json:"digest_format"`
	}
	out := s.p.cli(t, "members", "list", wuiList, "--json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("members list --json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.Address == "bob@example.net" && (r.Mode != "digest" || r.DigestFormat != "plain") {
			t.Errorf("the CLI sees bob as %s, %s", r.Mode, r.DigestFormat)
		}
	}
	s.p.cli(t, "members", "set", wuiList, "bob@example.net", "--mode", "regular")
	var page struct {
		Members []struct {
			Mode         string `json:"mode"`
			DigestFormat string `json:"digest_format"`
		} `json:"members"`
	}
	code, body = s.api(t, owner, "GET", "/api/v1/lists/"+wuiList+"/members?prefix=bob", nil)
	if err := json.Unmarshal([]byte(body), &page); err != nil || code != http.StatusOK || len(page.Members) != 1 ||
		page.Members[0].Mode != "regular" || page.Members[0].DigestFormat != "plain" {
		t.Errorf("the API sees bob after the CLI: %d %s", code, body)
	}
}
