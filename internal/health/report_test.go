package health

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestOverallIsWorst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		states []State
		want   State
	}{
		{nil, OK},
		{[]State{OK, OK}, OK},
		{[]State{OK, Warning}, Warning},
		{[]State{Warning, Unknown, OK}, Unknown},
		{[]State{Unknown, Critical, Warning}, Critical},
		{[]State{Critical, Unknown}, Critical},
	} {
		var rs []Result
		for _, s := range tc.states {
			rs = append(rs, Result{State: s})
		}
		if got := Overall(rs); got != tc.want {
			t.Errorf("Overall(%v) = %v, want %v", tc.states, got, tc.want)
		}
	}
}

func TestReportJSONShape(t *testing.T) {
	t.Parallel()
	f := newFakes()
	f.queueN, f.oldest = 12, t0
	f.now = t0.Add(47 * time.Minute)
	c := newChecker(t, f, func(o *Options) {
		o.Extra = func() map[string]any {
			return map[string]any{"config_fingerprint": "abc123", "status": "overridden?"}
		}
	})
	c.Check(context.Background())
	b, err := json.Marshal(c.Report())
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["status"] != "critical" || raw["config_fingerprint"] != "abc123" || raw["time"] != "2024-03-01T12:47:00Z" {
		t.Fatalf("top level: %s", b)
	}
	checks := raw["checks"].([]any)
	first := checks[0].(map[string]any)
	if first["name"] != "oldest_queued" || first["state"] != "critical" || first["since"] != "2024-03-01T12:47:00Z" ||
		first["message"] != "oldest queued message is 47m old (threshold 30m); 12 queued" {
		t.Fatalf("first check: %v", first)
	}
	perf := first["perf"].([]any)
	age := perf[1].(map[string]any)
	if age["label"] != "oldest_age" || age["value"] != 2820.0 || age["uom"] != "s" || age["crit"] != 1800.0 || age["min"] != 0.0 {
		t.Fatalf("perf: %v", perf)
	}
	if _, ok := age["warn"]; ok {
		t.Fatalf("unset warn threshold encoded: %v", age)
	}

	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Status != Critical || len(back.Checks) != len(c.Report().Checks) || back.Extra["config_fingerprint"] != "abc123" {
		t.Fatalf("round trip: %+v", back)
	}
	if _, ok := back.Extra["status"]; ok {
		t.Fatal("status leaked into Extra")
	}
}

func TestHandlerStatusCodes(t *testing.T) {
	t.Parallel()
	f := newFakes()
	c := newChecker(t, f, nil)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)

	get := func(method string) (int, Report) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var r Report
		if resp.StatusCode != http.StatusMethodNotAllowed && method == http.MethodGet {
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
		}
		return resp.StatusCode, r
	}

	if code, r := get(http.MethodGet); code != 503 || r.Status != Unknown || len(r.Checks) != 0 {
		t.Fatalf("before the first check: %d %+v", code, r)
	}
	ctx := context.Background()
	c.Check(ctx)
	if code, r := get(http.MethodGet); code != 200 || r.Status != OK || len(r.Checks) != 8 {
		t.Fatalf("all ok: %d %+v", code, r)
	}
	f.set(func(f *fakes) { f.held = 500 })
	c.Check(ctx)
	if code, r := get(http.MethodGet); code != 200 || r.Status != Warning {
		t.Fatalf("warning: %d %+v", code, r)
	}
	f.set(func(f *fakes) { f.queueN, f.oldest = 1, f.now.Add(-time.Hour) })
	c.Check(ctx)
	if code, r := get(http.MethodGet); code != 503 || r.Status != Critical {
		t.Fatalf("critical: %d %+v", code, r)
	}
	if code, _ := get(http.MethodHead); code != 503 {
		t.Fatalf("HEAD: %d", code)
	}
	if code, _ := get(http.MethodPost); code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", code)
	}
}
