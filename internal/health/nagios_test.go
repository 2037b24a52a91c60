package health

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/courier"
)

func TestNagiosFromChecker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const okPerf = " | queue=0;;;0 oldest_age=0s;;1800;0 upstreams_up=2;;;0;2 upstream_down_longest=0s;900;;0" +
		" deferral_ratio=0;0.5;;0;1 attempts=0;;;0 services_silent=0;0;;0;0 held=0;100;;0 config_drift=0s;600;;0"

	for _, tc := range []struct {
		name  string
		setup func(f *fakes)
		line  string
		exit  int
	}{
		{"ok", func(f *fakes) {}, "POSTHORN OK - 8 checks ok" + okPerf, 0},
		{"warning", func(f *fakes) {
			f.differs, f.driftAt = true, t0.Add(-25*time.Minute)
		}, "POSTHORN WARNING - configuration file differs from the running configuration for 25m (threshold 10m); run posthorn reload" +
			" | queue=0;;;0 oldest_age=0s;;1800;0 upstreams_up=2;;;0;2 upstream_down_longest=0s;900;;0" +
			" deferral_ratio=0;0.5;;0;1 attempts=0;;;0 services_silent=0;0;;0;0 held=0;100;;0 config_drift=1500s;600;;0", 1},
		{"critical", func(f *fakes) {
			f.queueN, f.oldest = 12, t0.Add(-47*time.Minute)
			f.upstreams = []courier.UpstreamStatus{
				{Addr: "mx1:25", ConsecutiveFailures: 9, DownSince: t0.Add(-20 * time.Minute), LastError: "connection refused"},
				{Addr: "mx2:25", ConsecutiveFailures: 4, DownSince: t0.Add(-3 * time.Minute)},
			}
		}, "POSTHORN CRITICAL - oldest queued message is 47m old (threshold 30m); 12 queued; " +
			"all upstreams down (2/2) for 3m: connection refused; upstream mx1:25 down for 20m (connection refused) (threshold 15m)" +
			" | queue=12;;;0 oldest_age=2820s;;1800;0 upstreams_up=0;;;0;2 upstream_down_longest=1200s;900;;0" +
			" deferral_ratio=0;0.5;;0;1 attempts=0;;;0 services_silent=0;0;;0;0 held=0;100;;0 config_drift=0s;600;;0", 2},
		{"unknown", func(f *fakes) {
			f.heldErr = errors.New("disk I/O error | retry")
		}, "POSTHORN UNKNOWN - cannot count held posts: disk I/O error / retry" +
			" | queue=0;;;0 oldest_age=0s;;1800;0 upstreams_up=2;;;0;2 upstream_down_longest=0s;900;;0" +
			" deferral_ratio=0;0.5;;0;1 attempts=0;;;0 services_silent=0;0;;0;0 config_drift=0s;600;;0", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakes()
			f.set(tc.setup)
			line, exit := Nagios(newChecker(t, f, nil).Check(ctx))
			if line != tc.line || exit != tc.exit {
				t.Fatalf("got  %d %q\nwant %d %q", exit, line, tc.exit, tc.line)
			}
		})
	}
}

func TestNagiosEdgeCases(t *testing.T) {
	t.Parallel()
	line, exit := Nagios(Report{Status: Unknown})
	if line != "POSTHORN UNKNOWN - no checks have run yet" || exit != 3 {
		t.Fatalf("empty: %d %q", exit, line)
	}
	r := Report{Status: Warning, Checks: []Result{
		{Name: "a", State: OK, Message: "fine"},
		{Name: "b", State: Warning, Message: "two\nlines"},
		{Name: "c", State: Unknown, Message: "no data"},
	}}
	r.Checks[0].Perf = []Perf{{Label: "queue size", Value: 1.5}, {Label: "it's", Value: -2, UOM: "%", Max: num(100)}}
	line, exit = Nagios(r)
	if want := "POSTHORN WARNING - no data; two lines | 'queue size'=1.5 'it''s'=-2%;;;;100"; line != want || exit != 1 {
		t.Fatalf("got  %d %q\nwant %q", exit, line, want)
	}
	if line, exit = Nagios(Report{Status: State(7)}); exit != 3 {
		t.Fatalf("invalid state: %d %q", exit, line)
	}
}
