package dkim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// One RSA key for the whole package: generating 2048-bit keys is slow.
var rsaOnce = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func writeKey(t testing.TB, dir, name string, key any, pkcs1 bool) string {
	t.Helper()
	var block *pem.Block
	if k, ok := key.(*rsa.PrivateKey); ok && pkcs1 {
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func rsaKeyFile(t testing.TB, dir string) string {
	t.Helper()
	k, err := rsaOnce()
	if err != nil {
		t.Fatal(err)
	}
	return writeKey(t, dir, "rsa.pem", k, true)
}

func edKeyFile(t testing.TB, dir, name string) string {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return writeKey(t, dir, name, k, false)
}

// dns serves the records of the given signers (and nothing else).
func dns(t testing.TB, signers ...*Signer) func(string) ([]string, error) {
	t.Helper()
	txt := map[string][]string{}
	for _, s := range signers {
		recs, err := s.Records()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			txt[r.Name] = append(txt[r.Name], r.Value)
		}
	}
	return func(name string) ([]string, error) {
		if v, ok := txt[name]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("no TXT record for %s", name)
	}
}

// verify returns the domain/selector of every signature that verifies and
// the errors of those that do not.
func verify(t testing.TB, msg []byte, lookup func(string) ([]string, error)) (ok []string, bad []error) {
	t.Helper()
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(msg), &msgdkim.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Err != nil {
			bad = append(bad, v.Err)
			continue
		}
		ok = append(ok, v.Domain)
	}
	return ok, bad
}

func sign(t testing.TB, s *Signer, msg, envFrom string) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := s.Sign(strings.NewReader(msg), &out, envFrom); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

const post = "From: Alice Example <alice@example.org>\r\n" +
	"To: dev@lists.example.net\r\n" +
	"Subject: release plans\r\n" +
	"Date: Mon, 4 Mar 2024 10:00:00 +0000\r\n" +
	"Message-ID: <1@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"X-Mailer: test\r\n" +
	"\r\n" +
	"We ship on Friday.\r\n"

func TestSignVerifiesRSAAndEd25519(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, file string }{
		{"rsa", rsaKeyFile(t, dir)},
		{"ed25519", edKeyFile(t, dir, "ed.pem")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := New([]Key{{Domain: "example.org", Selector: "s1", KeyFile: tc.file}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			signed := sign(t, s, post, "bounces@example.org")
			if !bytes.HasPrefix(signed, []byte("DKIM-Signature: ")) || !bytes.HasSuffix(signed, []byte(post)) {
				t.Fatalf("signed message is not the signature followed by the original:\n%s", signed)
			}
			sig := string(signed[:len(signed)-len(post)])
			for _, want := range []string{"a=" + tc.name + "-sha256", "c=relaxed/relaxed", "d=example.org", "s=s1"} {
				if !strings.Contains(sig, want) {
					t.Errorf("signature lacks %q: %s", want, sig)
				}
			}
			if strings.Contains(strings.ToLower(sig), "x-mailer") {
				t.Errorf("signature covers X-Mailer: %s", sig)
			}
			ok, bad := verify(t, signed, dns(t, s))
			if len(ok) != 1 || len(bad) != 0 {
				t.Fatalf("verified %v, failed %v", ok, bad)
			}
		})
	}
}

// listProcess does to a post what a list server does: subject tag, list
// headers, footer.
func listProcess(msg string) string {
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	head = strings.Replace(head, "Subject: ", "Subject: [dev] ", 1)
	head += "\r\nList-Id: <dev.lists.example.net>\r\nList-Post: <mailto:dev@lists.example.net>" +
		"\r\nList-Unsubscribe: <mailto:dev-leave@lists.example.net>"
	body += "-- \r\ndev mailing list\r\n"
	return head + "\r\n\r\n" + body
}

func TestSignAfterListProcessing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	list, err := New([]Key{{Domain: "lists.example.net", Selector: "l1", KeyFile: edKeyFile(t, dir, "l.pem")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	author, err := New([]Key{{Domain: "example.org", Selector: "a1", KeyFile: rsaKeyFile(t, dir)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lookup := dns(t, list, author)

	// Signed by the author's domain before the list changed it: broken.
	before := sign(t, author, post, "")
	if ok, _ := verify(t, []byte(listProcess(string(before))), lookup); len(ok) != 0 {
		t.Fatalf("a signature made before list processing still verifies: %v", ok)
	}
	// Signed after processing (the list rewrites From to its own domain,
	// as DMARC mitigation does; the envelope sender is the list's).
	processed := strings.Replace(listProcess(post), "From: Alice Example <alice@example.org>",
		"From: \"Alice Example via dev\" <dev@lists.example.net>", 1)
	after := sign(t, list, processed, "dev-bounces@lists.example.net")
	ok, bad := verify(t, after, lookup)
	if len(ok) != 1 || ok[0] != "lists.example.net" || len(bad) != 0 {
		t.Fatalf("verified %v, failed %v", ok, bad)
	}
	if sig, _, _ := strings.Cut(string(after), "\r\nFrom:"); !strings.Contains(sig, "list-id") {
		t.Errorf("list headers not signed: %s", sig)
	}
}

func TestRotationSignsWithEverySelector(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	oldKey := Key{Domain: "example.org", Selector: "2023", KeyFile: rsaKeyFile(t, dir)}
	newKey := Key{Domain: "example.org", Selector: "2024", KeyFile: edKeyFile(t, dir, "new.pem")}
	both, err := New([]Key{oldKey, newKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed := sign(t, both, post, "")
	if n := bytes.Count(signed, []byte("DKIM-Signature:")); n != 2 {
		t.Fatalf("%d signatures, want one per selector", n)
	}
	if ok, bad := verify(t, signed, dns(t, both)); len(ok) != 2 || len(bad) != 0 {
		t.Fatalf("both records published: verified %v, failed %v", ok, bad)
	}
	// Only the new record is visible yet: one signature still verifies.
	onlyNew, err := New([]Key{newKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, bad := verify(t, signed, dns(t, onlyNew)); len(ok) != 1 || len(bad) != 1 {
		t.Fatalf("only the new record: verified %v, failed %v", ok, bad)
	}
}

func TestOverSignedFrom(t *testing.T) {
	t.Parallel()
	s, err := New([]Key{{Domain: "example.org", Selector: "s", KeyFile: edKeyFile(t, t.TempDir(), "k.pem")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed := string(sign(t, s, post, ""))
	// An attacker adds a second From above the original.
	forged := strings.Replace(signed, "From: Alice", "From: ceo@example.org\r\nFrom: Alice", 1)
	if ok, _ := verify(t, []byte(forged), dns(t, s)); len(ok) != 0 {
		t.Fatal("a signature survives an added From field")
	}
	// Adding an unsigned field is fine.
	extra := strings.Replace(signed, "X-Mailer: test", "X-Mailer: test\r\nX-Spam: no", 1)
	if ok, _ := verify(t, []byte(extra), dns(t, s)); len(ok) != 1 {
		t.Fatal("an added unsigned field broke the signature")
	}
}

func TestDomainChoice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := New([]Key{
		{Domain: "Example.ORG.", Selector: "s", KeyFile: edKeyFile(t, dir, "org.pem")},
		{Domain: "example.net", Selector: "n", KeyFile: edKeyFile(t, dir, "net.pem")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, envFrom, want string
	}{
		{"from domain", "From: a@example.org", "x@example.net", "d=example.org"},
		{"display name and folding", "From: \"Alice, A.\"\r\n <a@EXAMPLE.org>", "", "d=example.org"},
		{"parent domain", "From: a@mail.example.org", "", "d=example.org"},
		{"envelope fallback", "X-No-From: 1", "bounce@example.net", "d=example.net"},
		{"unparsable from", "From: <<<", "bounce@example.net", "d=example.net"},
		{"no key", "From: a@example.com", "b@example.com", ""},
		{"null sender, no from", "Subject: x", "", ""},
		{"tld only", "From: a@org", "", ""},
	} {
		msg := tc.from + "\r\nSubject: s\r\n\r\nbody\r\n"
		sig, err := s.Signature(strings.NewReader(msg), tc.envFrom)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.want == "" && sig != "" || tc.want != "" && !strings.Contains(sig, tc.want+";") {
			t.Errorf("%s: signature %q, want %q", tc.name, sig, tc.want)
		}
		var out bytes.Buffer
		if err := s.Sign(strings.NewReader(msg), &out, tc.envFrom); err != nil || !strings.HasSuffix(out.String(), msg) {
			t.Errorf("%s: Sign lost the message (%v): %q", tc.name, err, out.String())
		}
	}
}

func TestExpire(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)
	s, err := New([]Key{{Domain: "example.org", Selector: "s", KeyFile: edKeyFile(t, t.TempDir(), "k.pem"),
		Expire: 7 * 24 * time.Hour}}, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Signature(strings.NewReader(post), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("x=%d", at.Add(7*24*time.Hour).Unix()); !strings.Contains(sig, want) {
		t.Fatalf("signature %q lacks %s", sig, want)
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallFile := writeKey(t, dir, "small.pem", small, false)
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a key\n"), 0o600)
	pub := filepath.Join(dir, "pub.pem")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}), 0o600)
	enc := filepath.Join(dir, "enc.pem")
	os.WriteFile(enc, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), 0o600)
	good := edKeyFile(t, dir, "good.pem")
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		key  Key
		want string
	}{
		{Key{Domain: "example.org", Selector: "s", KeyFile: missing}, "cannot read"},
		{Key{Domain: "example.org", Selector: "s", KeyFile: smallFile}, "1024 bits"},
		{Key{Domain: "example.org", Selector: "s", KeyFile: garbage}, "no PEM block"},
		{Key{Domain: "example.org", Selector: "s", KeyFile: pub}, "not a private key"},
		{Key{Domain: "example.org", Selector: "s", KeyFile: enc}, "encrypted"},
		{Key{Domain: "", Selector: "s", KeyFile: good}, "invalid domain"},
		{Key{Domain: "example.org", Selector: "a b", KeyFile: good}, "invalid selector"},
	} {
		_, err := New([]Key{tc.key}, nil)
		var ke *KeyError
		if !errors.As(err, &ke) || ke.File != tc.key.KeyFile || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), tc.key.KeyFile) {
			t.Errorf("%+v: error %v, want a KeyError naming the file and saying %q", tc.key, err, tc.want)
		}
	}
	_, err = New([]Key{
		{Domain: "example.org", Selector: "s", KeyFile: good},
		{Domain: "EXAMPLE.org", Selector: "s", KeyFile: good},
		{Domain: "example.org", Selector: "t", KeyFile: missing},
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "configured twice") || !strings.Contains(err.Error(), missing) {
		t.Errorf("duplicate selector and a missing file: %v, want both reported", err)
	}
	if s, err := New(nil, nil); err != nil || !s.Empty() {
		t.Errorf("no keys: %v, %v", s, err)
	}
}

func BenchmarkSign2K(b *testing.B) {
	dir := b.TempDir()
	body := strings.Repeat("A line of about seventy characters of message text for the benchmark.\r\n", 26)
	msg := post[:strings.Index(post, "\r\n\r\n")+4] + body
	for _, tc := range []struct{ name, file string }{
		{"rsa2048", rsaKeyFile(b, dir)},
		{"ed25519", edKeyFile(b, dir, "ed.pem")},
	} {
		s, err := New([]Key{{Domain: "example.org", Selector: "s", KeyFile: tc.file}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := s.Signature(strings.NewReader(msg), ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
