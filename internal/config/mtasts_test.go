package config

import "testing"

func TestMTASTSKey(t *testing.T) {
	t.Parallel()
	if !Default().Delivery.MTASTS {
		t.Error("delivery.mta_sts is off by default")
	}
	cfg, err := Parse("t.toml", []byte("[delivery]\nmta_sts = false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Delivery.MTASTS {
		t.Error("mta_sts = false not applied")
	}
}
