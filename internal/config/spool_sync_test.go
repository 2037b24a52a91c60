package config

import (
	"slices"
	"testing"
)

func TestSpoolSync(t *testing.T) {
	t.Parallel()
	if c := mustParse(t, `hostname = "mx.example.org"`); c.SpoolSync != "journal" {
		t.Fatalf("default spool_sync %q, want journal", c.SpoolSync)
	}
	if c := mustParse(t, "hostname = \"mx.example.org\"\nspool_sync = \"file\"\n"); c.SpoolSync != "file" {
		t.Fatalf("spool_sync %q", c.SpoolSync)
	}
	if c := mustParse(t, "hostname = \"mx.example.org\"\nspool_sync = \"filesystem\"\n"); c.SpoolSync != "filesystem" {
		t.Fatalf("spool_sync %q", c.SpoolSync)
	}
	if keys := problemKeys(t, "hostname = \"mx.example.org\"\nspool_sync = \"fast\"\n"); !slices.Contains(keys, "spool_sync") {
		t.Fatalf("problems %v, want spool_sync", keys)
	}
}
