package health

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/spool"
)

func TestSpoolWrite(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		h     spool.WriteHealth
		state State
		want  string
	}{
		{"never failed", spool.WriteHealth{LastOK: now}, OK, "succeed"},
		{"failing", spool.WriteHealth{Failures: 3, LastError: "spool write: no space left on device",
			LastErrorAt: now.Add(-time.Minute), LastOK: now.Add(-time.Hour)}, Critical, "no space left"},
		{"failing, never written", spool.WriteHealth{Failures: 1, LastError: "read-only file system",
			LastErrorAt: now}, Critical, "read-only"},
		{"recovered recently", spool.WriteHealth{Failures: 3, LastError: "no space",
			LastErrorAt: now.Add(-5 * time.Minute), LastOK: now.Add(-time.Minute)}, Warning, "succeed again"},
		{"recovered long ago", spool.WriteHealth{Failures: 3, LastError: "no space",
			LastErrorAt: now.Add(-2 * time.Hour), LastOK: now.Add(-time.Minute)}, OK, "last failure"},
	} {
		r := SpoolWrite(tc.h, time.Hour, now)
		if r.Name != CheckSpoolWrite || r.State != tc.state || !strings.Contains(r.Message, tc.want) {
			t.Errorf("%s: %v %q, want %v containing %q", tc.name, r.State, r.Message, tc.state, tc.want)
		}
	}
}

// TestSpoolWriteInReport: with Inputs.SpoolWrite set, the report carries
// the spool_write check, critical while writes fail.
func TestSpoolWriteInReport(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	failing := spool.WriteHealth{Failures: 3, LastError: "no space left on device", LastErrorAt: now.Add(-time.Minute), LastOK: now.Add(-time.Hour)}
	in := Inputs{SpoolWrite: func() spool.WriteHealth { return failing }}
	var found *Result
	for _, r := range evaluate(context.Background(), config.Default().Alerts, in, now) {
		if r.Name == CheckSpoolWrite {
			found = &r
		}
	}
	if found == nil || found.State != Critical || !strings.Contains(found.Message, "no space left") {
		t.Fatalf("spool_write in report: %+v", found)
	}
	if rs := evaluate(context.Background(), config.Default().Alerts, Inputs{}, now); len(rs) != 0 {
		for _, r := range rs {
			if r.Name == CheckSpoolWrite {
				t.Fatalf("spool_write reported without an input: %+v", r)
			}
		}
	}
}
