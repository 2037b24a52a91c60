package main

import (
	"slices"
	"testing"

	"github.com/posthorn/posthorn/internal/config"
)

func TestListsRestartKeys(t *testing.T) {
	t.Parallel()
	old := &config.Config{Lists: config.Lists{SiteURL: "https://a.example", HoldExpiry: config.Duration(1), BounceThreshold: 5}}
	same := *old
	same.Lists.SiteURL = "https://b.example" // applied by a reload: not named
	if keys := listsRestartKeys(old, &same); len(keys) != 0 {
		t.Fatalf("site_url named as needing a restart: %v", keys)
	}
	next := same
	next.Lists.HoldExpiry = config.Duration(2)
	next.Lists.BounceThreshold = 6
	if keys := listsRestartKeys(old, &next); !slices.Equal(keys, []string{"lists.hold_expiry", "lists.bounce_threshold"}) {
		t.Fatalf("keys %v", keys)
	}
}

func TestWebSettings(t *testing.T) {
	t.Parallel()
	a := webSettingsOf(&config.Config{Lists: config.Lists{SiteURL: "https://a.example"},
		HTTP: config.HTTP{OperatorNetworks: []string{"127.0.0.0/8", "::1/128"}}})
	if a.siteURL != "https://a.example" || len(a.operatorNets) != 2 || !a.equal(a) {
		t.Fatalf("%+v", a)
	}
	b := a
	b.siteURL = "https://b.example"
	c := a
	c.operatorNets = c.operatorNets[:1]
	if a.equal(b) || a.equal(c) {
		t.Fatal("different settings compare equal")
	}
}
