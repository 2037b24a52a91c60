package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dkimConfig writes a config with one [[dkim]] key whose file holds keyPEM.
func dkimConfig(t *testing.T, keyPEM []byte) string {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "example.org-s1.pem")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("hostname = \"relay.example.org\"\ndata_dir = %q\n\n[[dkim]]\ndomain = \"example.org\"\nselector = \"s1\"\nkey_file = %q\n",
		filepath.Join(dir, "data"), keyFile)
	path := filepath.Join(dir, "posthorn.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckDKIM: posthorn check prints the record each key needs, and a
// key file that is not a key refuses the configuration, naming the file.
func TestCheckDKIM(t *testing.T) {
	t.Parallel()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	good := dkimConfig(t, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	var out bytes.Buffer
	if code := run([]string{"posthorn", "check", "--config", good}, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("check exit %d:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "s1._domainkey.example.org IN TXT") || !strings.Contains(out.String(), "k=ed25519") {
		t.Errorf("check does not print the DNS record:\n%s", out.String())
	}

	bad := dkimConfig(t, []byte("not a key\n"))
	out.Reset()
	if code := run([]string{"posthorn", "check", "--config", bad}, strings.NewReader(""), &out, &out); code != 1 {
		t.Fatalf("check of a broken key: exit %d, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "example.org-s1.pem") {
		t.Errorf("the error does not name the key file:\n%s", out.String())
	}
	if _, err := loadCandidate(bad); err == nil {
		t.Errorf("a reload would accept the broken key")
	}
}
