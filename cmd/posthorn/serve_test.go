package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeRefusesInvalidConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.toml")
	data := "data_dir = \"" + filepath.Join(dir, "data") + "\"\n[smtp]\nlisten = [\"127.0.0.1:0\"]\nmax_mesage_size = \"1MiB\"\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := runServe(context.Background(), []string{"--config", path}, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "bad.toml:4: smtp.max_mesage_size") || !strings.Contains(stderr.String(), "refusing to start") {
		t.Fatalf("stderr does not name the key and line:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatal("serve created its data directory before refusing")
	}
}
