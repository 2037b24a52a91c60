package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/courier"
)

func TestOldestQueuedOnOff(t *testing.T) {
	t.Parallel()
	f := newFakes()
	c := newChecker(t, f, nil)
	ctx := context.Background()

	expect(t, c.Check(ctx), CheckOldestQueued, OK, "queue is empty")

	f.set(func(f *fakes) { f.queueN, f.oldest = 12, t0 })
	f.advance(29 * time.Minute)
	expect(t, c.Check(ctx), CheckOldestQueued, OK, "12 queued, oldest 29m old")

	f.advance(18 * time.Minute)
	r := c.Check(ctx)
	res := expect(t, r, CheckOldestQueued, Critical, "oldest queued message is 47m old (threshold 30m)")
	if !res.Since.Equal(t0.Add(47 * time.Minute)) {
		t.Fatalf("since %v, want the time of the check that turned it critical", res.Since)
	}
	if r.Status != Critical {
		t.Fatalf("overall %v, want critical", r.Status)
	}
	f.advance(time.Minute)
	res = expect(t, c.Check(ctx), CheckOldestQueued, Critical, "48m old")
	if !res.Since.Equal(t0.Add(47 * time.Minute)) {
		t.Fatalf("since moved to %v while the state stayed critical", res.Since)
	}

	f.set(func(f *fakes) { f.queueN, f.oldest = 0, time.Time{} })
	f.advance(time.Minute)
	res = expect(t, c.Check(ctx), CheckOldestQueued, OK, "queue is empty")
	if !res.Since.Equal(t0.Add(49 * time.Minute)) {
		t.Fatalf("since %v after recovery", res.Since)
	}
}

func TestUpstreamChecksOnOff(t *testing.T) {
	t.Parallel()
	f := newFakes()
	c := newChecker(t, f, nil)
	ctx := context.Background()

	r := c.Check(ctx)
	expect(t, r, CheckAllUpstreamsDown, OK, "2/2 upstreams up")
	expect(t, r, CheckUpstreamDown, OK, "all 2 upstreams up")

	// mx1 fails: one down is a warning only after upstream_down (15m).
	f.set(func(f *fakes) {
		f.upstreams[0] = courier.UpstreamStatus{Addr: "mx1.example:25", ConsecutiveFailures: 3,
			DownSince: f.now, LastError: "dial tcp: connection refused"}
	})
	f.advance(14 * time.Minute)
	r = c.Check(ctx)
	expect(t, r, CheckAllUpstreamsDown, OK, "1/2 upstreams up")
	expect(t, r, CheckUpstreamDown, OK, "down for 14m (threshold 15m)")
	f.advance(2 * time.Minute)
	r = c.Check(ctx)
	expect(t, r, CheckUpstreamDown, Warning, "upstream mx1.example:25 down for 16m (dial tcp: connection refused)")
	if r.Status != Warning {
		t.Fatalf("overall %v, want warning", r.Status)
	}

	// mx2 fails too: all down counts from the last one to fail.
	f.set(func(f *fakes) {
		f.upstreams[1] = courier.UpstreamStatus{Addr: "mx2.example:25", ConsecutiveFailures: 1, DownSince: f.now}
	})
	f.advance(30 * time.Second)
	expect(t, c.Check(ctx), CheckAllUpstreamsDown, OK, "all upstreams down (2/2) for 30s")
	f.advance(2*time.Minute + 30*time.Second)
	r = c.Check(ctx)
	expect(t, r, CheckAllUpstreamsDown, Critical, "all upstreams down (2/2) for 3m")
	if r.Status != Critical {
		t.Fatalf("overall %v, want critical", r.Status)
	}
	perf := find(t, r, CheckAllUpstreamsDown).Perf
	if len(perf) != 1 || perf[0].Label != "upstreams_up" || perf[0].Value != 0 || *perf[0].Max != 2 {
		t.Fatalf("perf %+v", perf)
	}

	// Both recover.
	f.set(func(f *fakes) {
		for i := range f.upstreams {
			f.upstreams[i] = courier.UpstreamStatus{Addr: f.upstreams[i].Addr, Up: true}
		}
	})
	r = c.Check(ctx)
	expect(t, r, CheckAllUpstreamsDown, OK, "2/2 upstreams up")
	expect(t, r, CheckUpstreamDown, OK, "")
	if r.Status != OK {
		t.Fatalf("overall %v after recovery", r.Status)
	}
}

func TestNoUpstreamsIsDirectDelivery(t *testing.T) {
	t.Parallel()
	f := newFakes()
	f.upstreams = nil
	r := newChecker(t, f, nil).Check(context.Background())
	expect(t, r, CheckAllUpstreamsDown, OK, "direct delivery")
	expect(t, r, CheckUpstreamDown, OK, "direct delivery")
}

func TestDeferralRatioOnOff(t *testing.T) {
	t.Parallel()
	f := newFakes()
	c := newChecker(t, f, nil)
	ctx := context.Background()

	f.set(func(f *fakes) { f.delivered, f.deferred = 2, 17 })
	expect(t, c.Check(ctx), CheckDeferralRatio, OK, "19 delivery attempts in the last 15m, too few to judge (minimum 20)")
	if want := t0.Add(-15 * time.Minute); !f.outSince.Equal(want) {
		t.Fatalf("outcomes asked since %v, want %v", f.outSince, want)
	}

	f.set(func(f *fakes) { f.delivered, f.deferred = 19, 31 })
	expect(t, c.Check(ctx), CheckDeferralRatio, Warning, "deferral ratio 0.62 over the last 15m (31 of 50 attempts deferred; threshold 0.50)")

	f.set(func(f *fakes) { f.delivered, f.deferred = 25, 25 })
	expect(t, c.Check(ctx), CheckDeferralRatio, OK, "deferral ratio 0.50")

	f.set(func(f *fakes) { f.outErr = errors.New("database is locked") })
	r := c.Check(ctx)
	expect(t, r, CheckDeferralRatio, Unknown, "cannot count delivery outcomes: database is locked")
	if r.Status != Unknown {
		t.Fatalf("overall %v, want unknown", r.Status)
	}
}

func TestServiceSilentOnOff(t *testing.T) {
	t.Parallel()
	f := newFakes()
	c := newChecker(t, f, nil)
	ctx := context.Background()

	// gerrit: 2016 messages in 7 days = one every 5m; threshold 10 × 5m.
	// sentry: 5 messages, too few to judge however long it is quiet.
	f.set(func(f *fakes) {
		f.activity = []Activity{
			{Service: "sentry", Messages: 5, Last: t0.Add(-72 * time.Hour)},
			{Service: "gerrit", Messages: 2016, Last: t0.Add(-10 * time.Minute)},
		}
	})
	expect(t, c.Check(ctx), CheckServiceSilent, OK, "1 services sending as usual")
	if want := t0.Add(-7 * 24 * time.Hour); !f.actSince.Equal(want) {
		t.Fatalf("activity asked since %v, want %v", f.actSince, want)
	}
	f.advance(41 * time.Minute) // silent 51m > 50m
	r := c.Check(ctx)
	res := expect(t, r, CheckServiceSilent, Warning, "service gerrit silent for 51m (usually every 5m; threshold 50m)")
	if strings.Contains(res.Message, "sentry") {
		t.Fatalf("a service below silent_minimum was judged: %q", res.Message)
	}

	f.set(func(f *fakes) { f.activity[1].Last = f.now; f.activity[1].Messages++ })
	expect(t, c.Check(ctx), CheckServiceSilent, OK, "sending as usual")

	f.set(func(f *fakes) { f.actErr = errors.New("no such table") })
	expect(t, c.Check(ctx), CheckServiceSilent, Unknown, "no such table")
}

func TestHeldMessagesOnOff(t *testing.T) {
	t.Parallel()
	f := newFakes()
	c := newChecker(t, f, nil)
	ctx := context.Background()

	f.set(func(f *fakes) { f.held = 100 })
	expect(t, c.Check(ctx), CheckHeldMessages, OK, "100 list posts held for moderation (threshold 100)")
	f.set(func(f *fakes) { f.held = 101 })
	expect(t, c.Check(ctx), CheckHeldMessages, Warning, "101 list posts held")
	f.set(func(f *fakes) { f.held = 3 })
	expect(t, c.Check(ctx), CheckHeldMessages, OK, "3 list posts held")
	f.set(func(f *fakes) { f.heldErr = errors.New("closed") })
	expect(t, c.Check(ctx), CheckHeldMessages, Unknown, "cannot count held posts: closed")

	noLists := newChecker(t, f, func(o *Options) { o.Inputs.Held = nil })
	expect(t, noLists.Check(ctx), CheckHeldMessages, OK, "no lists")
}

func TestConfigDriftOnOff(t *testing.T) {
	t.Parallel()
	f := newFakes()
	c := newChecker(t, f, nil)
	ctx := context.Background()

	expect(t, c.Check(ctx), CheckConfigDrift, OK, "running configuration matches the file")
	f.set(func(f *fakes) { f.differs, f.driftAt = true, f.now })
	f.advance(9 * time.Minute)
	expect(t, c.Check(ctx), CheckConfigDrift, OK, "changed 9m ago, not applied yet (threshold 10m)")
	f.advance(2 * time.Minute)
	expect(t, c.Check(ctx), CheckConfigDrift, Warning, "differs from the running configuration for 11m (threshold 10m)")
	// posthorn reload applies the file.
	f.set(func(f *fakes) { f.differs, f.driftAt = false, time.Time{} })
	expect(t, c.Check(ctx), CheckConfigDrift, OK, "matches")
}

func TestConfigReloadOnOff(t *testing.T) {
	t.Parallel()
	f := newFakes()
	c := newChecker(t, f, nil)
	ctx := context.Background()

	expect(t, c.Check(ctx), CheckConfigReload, OK, "no reload since start")
	f.set(func(f *fakes) { f.reloadErr, f.reloadAt = "posthorn.toml:4: smtp.max_mesage_size: unknown key", f.now })
	expect(t, c.Check(ctx), CheckConfigReload, Warning, "reload at 2024-03-01T12:00:00Z failed, previous configuration still running: posthorn.toml:4")
	f.advance(time.Minute)
	f.set(func(f *fakes) { f.reloadErr, f.reloadAt = "", f.now })
	expect(t, c.Check(ctx), CheckConfigReload, OK, "last reload at 2024-03-01T12:01:00Z succeeded")
}

func TestDisabledChecksAreLeftOut(t *testing.T) {
	t.Parallel()
	f := newFakes()
	ctx := context.Background()

	all := newChecker(t, f, nil).Check(ctx)
	var names []string
	for _, r := range all.Checks {
		names = append(names, r.Name)
	}
	want := []string{CheckOldestQueued, CheckAllUpstreamsDown, CheckUpstreamDown, CheckDeferralRatio,
		CheckServiceSilent, CheckHeldMessages, CheckConfigDrift, CheckConfigReload}
	if len(names) != len(want) {
		t.Fatalf("checks %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("checks %v, want %v", names, want)
		}
	}

	off := newChecker(t, f, func(o *Options) { o.Alerts = config.Alerts{CheckInterval: o.Alerts.CheckInterval} })
	r := off.Check(ctx)
	if len(r.Checks) != 1 || r.Checks[0].Name != CheckConfigReload {
		t.Fatalf("with every threshold 0: %+v, want only config_reload", r.Checks)
	}

	none := newChecker(t, f, func(o *Options) { o.Inputs = Inputs{} })
	r = none.Check(ctx)
	if len(r.Checks) != 1 || r.Checks[0].Name != CheckHeldMessages || r.Status != OK {
		t.Fatalf("with no inputs: %+v, want only held_messages", r)
	}
}

func TestSetAlertsChangesThresholds(t *testing.T) {
	t.Parallel()
	f := newFakes()
	c := newChecker(t, f, nil)
	ctx := context.Background()
	f.set(func(f *fakes) { f.queueN, f.oldest = 1, t0.Add(-20*time.Minute) })
	expect(t, c.Check(ctx), CheckOldestQueued, OK, "")
	a := config.Default().Alerts
	a.OldestQueued = config.Duration(10 * time.Minute)
	c.SetAlerts(a)
	expect(t, c.Check(ctx), CheckOldestQueued, Critical, "(threshold 10m)")
}

func TestHuman(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 59 * time.Second: "59s", 47*time.Minute + 30*time.Second: "47m", 3 * time.Hour: "3h",
		3*time.Hour + 5*time.Minute: "3h5m", 50 * time.Hour: "2d2h", 7 * 24 * time.Hour: "7d",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%v) = %q, want %q", d, got, want)
		}
	}
}
