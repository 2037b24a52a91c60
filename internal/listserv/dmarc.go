package listserv

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// DMARC mitigation.
//
// A list that resends a post under the author's From breaks the author's
// DKIM signature (subject prefix, footer) and SPF (our servers), so when
// the author's domain publishes a DMARC policy of reject or quarantine,
// receivers refuse or junk the copies and then bounce-disable members. A
// list with dmarc_mitigation set therefore, for such a post:
//
//	munge_from    From: "Author via List" <list@domain>; the author's
//	              address goes to Reply-To (reply_to = poster, and no
//	              Reply-To of the post's own) or to Cc (the list takes
//	              Reply-To)
//	wrap_message  a message from the list (From munged the same way) with
//	              a short note and the post, unchanged but for the
//	              approval fields, as a message/rfc822 attachment
//
// The policy is _dmarc.<domain> TXT; when the domain has none, its parents
// are tried down to two labels (a simple stand-in for the organizational
// domain), where sp= applies before p=. Answers are cached for
// DMARCCacheTTL. A lookup that fails (timeout, SERVFAIL) counts as strict:
// munging a post that did not need it costs a less pretty From; not
// munging one that did costs its delivery to every member on a strict
// receiver, and bounce points for them. A name that does not exist (or a
// LookupTXT error that is a *net.DNSError with IsNotFound) is no policy.

// LookupTXTFunc returns the TXT records of name.
type LookupTXTFunc func(ctx context.Context, name string) ([]string, error)

type dmarcEntry struct {
	strict  bool
	expires time.Time
}

// dmarcCache remembers the policies looked up; safe for concurrent use.
type dmarcCache struct {
	mu sync.Mutex
	m  map[string]dmarcEntry
}

const dmarcCacheMax = 10000

// dmarcAction is the mitigation to apply to msg on l.
func (s *Server) dmarcAction(ctx context.Context, l *lists.List, msg *message) lists.DMARCMitigation {
	act := l.Settings.DMARCMitigation
	if act == lists.DMARCNone || act == "" {
		return lists.DMARCNone
	}
	if l.Settings.DMARCMitigateUnconditionally {
		return act
	}
	addr, _, err := lists.NormalizeAddress(msg.get("From"))
	if err != nil {
		return lists.DMARCNone
	}
	domain := strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
	if s.strictDMARC(ctx, domain) {
		s.log.Info("listserv: DMARC mitigation", slog.String("list", l.Address()), slog.String("domain", domain),
			slog.String("action", string(act)))
		return act
	}
	return lists.DMARCNone
}

// strictDMARC reports whether domain publishes p=reject or p=quarantine
// (looked up or cached).
func (s *Server) strictDMARC(ctx context.Context, domain string) bool {
	now := s.opts.Now()
	c := &s.dmarc
	c.mu.Lock()
	e, ok := c.m[domain]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.strict
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.DMARCTimeout)
	defer cancel()
	strict, failed := s.lookupDMARC(ctx, domain)
	ttl := s.opts.DMARCCacheTTL
	if failed {
		ttl = min(ttl, 5*time.Minute)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= dmarcCacheMax {
		c.m = map[string]dmarcEntry{}
	}
	c.m[domain] = dmarcEntry{strict: strict, expires: now.Add(ttl)}
	c.mu.Unlock()
	return strict
}

// lookupDMARC walks from domain to its two-label parent; failed is set
// when a lookup failed (and strict is then true).
func (s *Server) lookupDMARC(ctx context.Context, domain string) (strict, failed bool) {
	labels := strings.Split(strings.TrimSuffix(domain, "."), ".")
	for i := 0; len(labels)-i >= 2 && i < 10; i++ {
		name := strings.Join(labels[i:], ".")
		txts, err := s.opts.LookupTXT(ctx, "_dmarc."+name)
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			continue
		case err != nil:
			s.log.Warn("listserv: DMARC lookup failed; mitigating", slog.String("domain", name), errAttr(err))
			return true, true
		}
		p, ok := dmarcPolicy(txts, i > 0)
		if !ok {
			continue
		}
		return p == "reject" || p == "quarantine", false
	}
	return false, false
}

// dmarcPolicy returns the policy of the DMARC record among txts: sp= for
// a subdomain when present, else p=.
func dmarcPolicy(txts []string, sub bool) (string, bool) {
	for _, t := range txts {
		t = strings.TrimSpace(t)
		if len(t) < 8 || !strings.EqualFold(t[:8], "v=DMARC1") {
			continue
		}
		tags := map[string]string{}
		for kv := range strings.SplitSeq(t, ";") {
			k, v, _ := strings.Cut(kv, "=")
			tags[strings.ToLower(strings.TrimSpace(k))] = strings.ToLower(strings.TrimSpace(v))
		}
		if sp, ok := tags["sp"]; sub && ok {
			return sp, true
		}
		return tags["p"], true
	}
	return "", false
}

// mungedFrom is the list's From for a post by author (the From field's
// value): "Author via List" <list@domain>, and the author's address.
func mungedFrom(l *lists.List, author string) (from string, authorAddr string) {
	listName := l.DisplayName
	if l.DisplayName == "" {
		listName = l.Name
	}
	name := ""
	if a, err := mail.ParseAddress(author); err == nil {
		authorAddr, name = a.Address, a.Name
		if name == "" {
			name = a.Address[:strings.LastIndexByte(a.Address, '@')]
		}
	}
	if authorAddr == "" {
		authorAddr = strings.TrimSpace(author)
	}
	if name == "" {
		name = "Someone"
	}
	return (&mail.Address{Name: name + " via " + listName, Address: l.Address()}).String(), authorAddr
}

// mungeFrom puts the list into From and the author into Reply-To or Cc.
func (s *Server) mungeFrom(l *lists.List, fields []field) []field {
	author, _ := fieldValue(fields, "From")
	from, addr := mungedFrom(l, author)
	fields = replaceField(fields, "From", from)
	if addr == "" {
		return fields
	}
	_, hasReplyTo := fieldValue(fields, "Reply-To")
	if l.Settings.ReplyTo == lists.ReplyToPoster && !hasReplyTo {
		return append(fields, newField("Reply-To", addr))
	}
	if cc, ok := fieldValue(fields, "Cc"); ok {
		if strings.Contains(strings.ToLower(cc), strings.ToLower(addr)) {
			return fields
		}
		return replaceField(fields, "Cc", cc+", "+addr)
	}
	return append(fields, newField("Cc", addr))
}

// wrapForDMARC makes a list message carrying the post (orig's fields, less
// the approval fields, and body) as a message/rfc822 part. The outer
// message keeps the post's addressing and threading fields from fields.
func (s *Server) wrapForDMARC(l *lists.List, orig []field, fields []field, body []byte) ([]field, []byte) {
	author, _ := fieldValue(fields, "From")
	_, authorAddr := mungedFrom(l, author)
	var outer []field
	for _, f := range fields {
		if !isContentField(f.name) && !f.is("MIME-Version") {
			outer = append(outer, f)
		}
	}
	outer = s.mungeFrom(l, outer)
	var inner bytes.Buffer
	for _, f := range orig {
		if !dropApproval(f.name) {
			inner.Write(f.raw)
		}
	}
	inner.WriteString("\r\n")
	inner.Write(body)
	boundary := "=_posthorn_dmarc_" + shortHash(inner.Bytes())
	note := "The message from " + authorAddr + " to " + l.Address() + " is attached: the sender's domain\r\n" +
		"does not allow others to send mail in its name, so the list cannot pass it on as it is.\r\n"
	var b bytes.Buffer
	b.WriteString("This is a message in MIME format.\r\n")
	b.WriteString("--" + boundary + "\r\n" + textPart(note))
	b.WriteString("--" + boundary + "\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n")
	b.Write(inner.Bytes())
	b.WriteString("\r\n--" + boundary + "--\r\n")
	outer = append(outer, newField("MIME-Version", "1.0"),
		newField("Content-Type", `multipart/mixed; boundary="`+boundary+`"`))
	if !isASCIIBytes(inner.Bytes()) {
		outer = append(outer, newField("Content-Transfer-Encoding", "8bit"))
	}
	return outer, b.Bytes()
}

func dropApproval(name string) bool {
	for _, f := range []string{"Approved", "Approve", "X-Approved", "X-Approve"} {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}
