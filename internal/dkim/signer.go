package dkim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// maxHeader bounds the header section read to find the From field.
const maxHeader = 1 << 20

// Signer signs messages with the configured keys. It is safe for
// concurrent use.
type Signer struct {
	byDomain map[string][]*loaded // lower-case domain → keys, in configured order
	keys     []*loaded
	now      func() time.Time
}

// New loads and checks every key. now is the clock for x= (Key.Expire);
// nil means time.Now. No keys gives a Signer that signs nothing.
func New(keys []Key, now func() time.Time) (*Signer, error) {
	if now == nil {
		now = time.Now
	}
	s := &Signer{byDomain: make(map[string][]*loaded), now: now}
	seen := make(map[string]string)
	var errs []error
	for _, k := range keys {
		k.Domain = strings.TrimSuffix(strings.ToLower(k.Domain), ".")
		id := k.Selector + "._domainkey." + k.Domain
		if prev, dup := seen[id]; dup {
			errs = append(errs, &KeyError{File: k.KeyFile, Domain: k.Domain,
				Reason: fmt.Sprintf("selector %q configured twice (also %s)", k.Selector, prev)})
			continue
		}
		seen[id] = k.KeyFile
		l, err := load(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.byDomain[k.Domain] = append(s.byDomain[k.Domain], l)
		s.keys = append(s.keys, l)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Empty reports whether no key is configured.
func (s *Signer) Empty() bool { return s == nil || len(s.keys) == 0 }

// Record is the DNS TXT record that publishes one key.
type Record struct {
	Domain, Selector string
	Name             string // Selector._domainkey.Domain
	Value            string // v=DKIM1; k=…; p=…
}

// Records returns the record each configured key needs, in configured
// order, for `posthorn check` and the operator's DNS.
func (s *Signer) Records() ([]Record, error) {
	var out []Record
	for _, l := range s.keys {
		v, err := l.record()
		if err != nil {
			return nil, &KeyError{File: l.KeyFile, Domain: l.Domain, Reason: "public key", Err: err}
		}
		out = append(out, Record{Domain: l.Domain, Selector: l.Selector,
			Name: l.Selector + "._domainkey." + l.Domain, Value: v})
	}
	return out, nil
}

// Signature reads the whole message from r (header section, blank line,
// body, CRLF line endings) and returns the DKIM-Signature fields to put in
// front of it, each ending in CRLF, or "" when its domain has no key (then
// r may not have been read to the end). envFrom is the envelope sender,
// used when the message has no usable From field.
func (s *Signer) Signature(r io.Reader, envFrom string) (string, error) {
	if s.Empty() {
		return "", nil
	}
	br := bufio.NewReaderSize(r, 8<<10)
	head, names, from, err := readHeader(br)
	if err != nil {
		return "", err
	}
	keys := s.keysFor(domainOf(from), domainOf(envFrom))
	if len(keys) == 0 {
		return "", nil
	}
	h := headerKeys(names)
	signers := make([]*msgdkim.Signer, 0, len(keys))
	writers := make([]io.Writer, 0, len(keys))
	defer func() {
		for _, sg := range signers {
			_ = sg.Close()
		}
	}()
	for _, k := range keys {
		o := &msgdkim.SignOptions{
			Domain: k.Domain, Selector: k.Selector, Signer: k.signer,
			HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
			BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
			HeaderKeys:             h,
		}
		if k.Expire > 0 {
			o.Expiration = s.now().Add(k.Expire)
		}
		sg, err := msgdkim.NewSigner(o)
		if err != nil {
			return "", &KeyError{File: k.KeyFile, Domain: k.Domain, Reason: "signer", Err: err}
		}
		signers = append(signers, sg)
		writers = append(writers, sg)
	}
	mw := io.MultiWriter(writers...)
	if _, err := mw.Write(head); err != nil {
		return "", err
	}
	if _, err := br.WriteTo(mw); err != nil {
		return "", err
	}
	var out strings.Builder
	for i, sg := range signers {
		if err := sg.Close(); err != nil {
			return "", fmt.Errorf("dkim: signing for %s with selector %s: %w", keys[i].Domain, keys[i].Selector, err)
		}
		out.WriteString(sg.Signature())
	}
	return out.String(), nil
}

// Sign writes to w the message read from r with its DKIM-Signature fields
// in front (unchanged when its domain has no key). The message is held in
// memory; for spooled messages use Signature with the spool file.
func (s *Signer) Sign(r io.Reader, w io.Writer, envFrom string) error {
	var buf bytes.Buffer
	sig, err := s.Signature(io.TeeReader(r, &buf), envFrom)
	if err != nil {
		return err
	}
	if _, err := io.Copy(&buf, r); err != nil { // the rest when unsigned
		return err
	}
	if _, err := io.WriteString(w, sig); err != nil {
		return err
	}
	_, err = buf.WriteTo(w)
	return err
}

// keysFor returns the keys of the first domain that has any: the From
// domain and its parents, then the envelope domain and its parents.
func (s *Signer) keysFor(domains ...string) []*loaded {
	for _, d := range domains {
		for d != "" && strings.Contains(d, ".") {
			if ks := s.byDomain[d]; len(ks) > 0 {
				return ks
			}
			_, d, _ = strings.Cut(d, ".")
		}
	}
	return nil
}

// readHeader reads the header section including the blank line. It
// returns the bytes read, the lower-case field names in order and the
// value of the first From field (unfolded).
func readHeader(br *bufio.Reader) (head []byte, names []string, from string, err error) {
	var cur string // field being folded
	inFrom := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An overlong line: keep it whole.
			rest, err2 := br.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), err2
		}
		head = append(head, line...)
		if len(head) > maxHeader {
			return nil, nil, "", fmt.Errorf("dkim: header section longer than %d bytes", maxHeader)
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		switch {
		case len(trimmed) == 0:
			return head, names, from, nil
		case trimmed[0] == ' ' || trimmed[0] == '\t':
			if inFrom {
				cur += string(trimmed)
				from = cur
			}
		default:
			name, value, ok := bytes.Cut(trimmed, []byte(":"))
			inFrom = false
			if ok {
				n := strings.ToLower(strings.TrimSpace(string(name)))
				names = append(names, n)
				if n == "from" && from == "" {
					cur, inFrom = string(value), true
					from = cur
				}
			}
		}
		if err == io.EOF {
			return head, names, from, nil // no body
		}
		if err != nil {
			return nil, nil, "", err
		}
	}
}

// headerKeys is the h= list for a message with the given fields.
func headerKeys(names []string) []string {
	var out []string
	for _, n := range names {
		if signed(n) {
			out = append(out, n)
		}
	}
	return append(out, "from") // over-sign: no From may be added
}

// signed reports whether a field (lower-case name) is signed when present.
func signed(name string) bool {
	switch name {
	case "from", "sender", "to", "cc", "subject", "date", "message-id", "reply-to",
		"in-reply-to", "references", "mime-version":
		return true
	}
	return strings.HasPrefix(name, "list-") || strings.HasPrefix(name, "content-")
}

// domainOf returns the lower-case domain of a From field value or a bare
// address, "" when there is none.
func domainOf(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	addr := v
	if list, err := mail.ParseAddressList(v); err == nil && len(list) > 0 {
		addr = list[0].Address
	} else if i, j := strings.LastIndexByte(v, '<'), strings.LastIndexByte(v, '>'); i >= 0 && j > i {
		addr = v[i+1 : j]
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(addr[at+1:])), ".")
	if !validName(d) {
		return ""
	}
	return d
}
