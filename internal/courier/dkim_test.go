package courier

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/posthorn/posthorn/internal/dkim"
	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/testutil"
)

func testSigner(t *testing.T, domain string) (*dkim.Signer, func(string) ([]string, error)) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dkim.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := dkim.New([]dkim.Key{{Domain: domain, Selector: "sel", KeyFile: file}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.Records()
	if err != nil {
		t.Fatal(err)
	}
	return s, func(name string) ([]string, error) {
		if name == recs[0].Name {
			return []string{recs[0].Value}, nil
		}
		return nil, fmt.Errorf("no record %s", name)
	}
}

func TestDKIMSignedOnTheWayOut(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	signer, lookup := testSigner(t, "example.org")
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr()), DKIM: signer})
	m := message("m1", "b@example.net")
	wantDelivered(t, deliver(t, c, m), u.Addr())
	other := message("m2", "b@example.net")
	other.From = "x@example.com"
	other.Body = strings.NewReader("From: x@example.com\r\n\r\nunsigned\r\n")
	other.Size = int64(len("From: x@example.com\r\n\r\nunsigned\r\n"))
	wantDelivered(t, deliver(t, c, other), u.Addr())

	got := u.Messages()
	if len(got) != 2 {
		t.Fatalf("upstream got %d messages, want 2", len(got))
	}
	orig, _ := io.ReadAll(io.NewSectionReader(m.Body, 0, m.Size))
	if !bytes.HasPrefix(got[0].Data, []byte("DKIM-Signature:")) || !bytes.HasSuffix(got[0].Data, orig) {
		t.Fatalf("delivered message is not signature + original:\n%s", got[0].Data)
	}
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(got[0].Data), &msgdkim.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.org" {
		t.Fatalf("verification: %v %+v", err, vs)
	}
	if bytes.Contains(got[1].Data, []byte("DKIM-Signature")) {
		t.Errorf("a domain without a key was signed:\n%s", got[1].Data)
	}
}

func TestDKIMUnreadableBodyIsTemporary(t *testing.T) {
	t.Parallel()
	u := testutil.NewUpstream(t)
	signer, _ := testSigner(t, "example.org")
	c := testCourier(t, Options{Upstreams: relays(TLSNone, u.Addr()), DKIM: signer})
	m := message("m1", "b@example.net")
	m.Body = failingReaderAt{}
	res := deliver(t, c, m)
	var be *BodyError
	if !errors.As(res[0].Err, &be) || !smtperr.Temporary(res[0].Err) {
		t.Fatalf("err = %v, want a temporary *BodyError", res[0].Err)
	}
	if u.Connections() != 0 {
		t.Errorf("dialled the upstream %d times with a message it could not sign", u.Connections())
	}
}

type failingReaderAt struct{}

func (failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, iotest.ErrTimeout }

func TestPrefixedReaderAt(t *testing.T) {
	t.Parallel()
	p := prefixed{head: []byte("HEAD:"), rest: strings.NewReader("rest of it")}
	whole := "HEAD:rest of it"
	for off := 0; off <= len(whole); off++ {
		for n := 0; n <= len(whole)-off; n++ {
			b := make([]byte, n)
			got, err := p.ReadAt(b, int64(off))
			if got != n || string(b) != whole[off:off+n] || (err != nil && err != io.EOF) {
				t.Fatalf("ReadAt(%d bytes, %d) = %d %q %v", n, off, got, b[:got], err)
			}
		}
	}
}
