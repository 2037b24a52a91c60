package listserv

import (
	"bytes"
	"mime"
	"net/url"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// dropFields are removed from a post before distribution: approval
// passwords, and list fields that this list replaces.
func dropFields() []string {
	return []string{
		"Approved", "Approve", "X-Approved", "X-Approve",
		"List-Id", "List-Post", "List-Help", "List-Subscribe", "List-Unsubscribe",
		"List-Unsubscribe-Post", "List-Archive", "List-Owner", "Precedence", "Return-Path",
	}
}

// post is a post ready to go out: the header fields common to every
// member, and the body.
type outPost struct {
	list   *lists.List
	header []byte // common fields, CRLF, without the blank line
	body   []byte
	msgID  string
}

// prepare rewrites msg for distribution on l: approval fields and old list
// fields removed, subject prefix (once), Reply-To policy, DMARC mitigation
// (dmarc, from dmarcAction), header and footer when decorated is set,
// RFC 2369/2919 fields common to all members. stripBodyLine removes the
// approval line at the top of the body.
func (s *Server) prepare(l *lists.List, msg *message, stripBodyLine bool, dmarc lists.DMARCMitigation, decorated bool) *outPost {
	drop := map[string]bool{}
	for _, f := range dropFields() {
		drop[strings.ToLower(f)] = true
	}
	set := l.Settings
	if set.ReplyTo != lists.ReplyToPoster {
		drop["reply-to"] = true
	}
	var fields []field
	hasSubject := false
	for _, f := range msg.fields {
		name := strings.ToLower(f.name)
		switch {
		case drop[name]:
			continue
		case name == "subject" && !hasSubject:
			hasSubject = true
			fields = append(fields, newField("Subject", prefixed(set.SubjectPrefix, f.value(), msg.subject())))
			continue
		}
		fields = append(fields, f)
	}
	if !hasSubject && set.SubjectPrefix != "" {
		fields = append(fields, newField("Subject", strings.TrimSpace(set.SubjectPrefix)+" (no subject)"))
	}
	switch set.ReplyTo {
	case lists.ReplyToList:
		fields = append(fields, newField("Reply-To", l.Address()))
	case lists.ReplyToExplicit:
		fields = append(fields, newField("Reply-To", set.ReplyToAddress))
	}
	body := msg.body
	if stripBodyLine {
		body = removeApprovalLine(body)
	}
	switch dmarc {
	case lists.DMARCMungeFrom:
		fields = s.mungeFrom(l, fields)
	case lists.DMARCWrap:
		fields, body = s.wrapForDMARC(l, msg.fields, fields, body)
	}
	if decorated {
		fields, body = decorate(fields, body, s.placeholders(l, set.Header), s.placeholders(l, set.Footer))
	}
	var h bytes.Buffer
	for _, f := range fields {
		h.Write(f.raw)
	}
	addr := l.Address()
	h.WriteString("List-Id: " + listID(l) + "\r\n")
	h.WriteString("List-Post: <mailto:" + addr + ">\r\n")
	help := "<mailto:" + lists.CompanionAddress(addr, lists.AddrRequest) + "?subject=help>"
	sub := "<mailto:" + lists.CompanionAddress(addr, lists.AddrJoin) + ">"
	if site := s.listURL(l); site != "" {
		help += ", <" + site + ">"
		sub += ", <" + site + ">"
	}
	h.WriteString("List-Help: " + help + "\r\n")
	h.WriteString("List-Subscribe: " + sub + "\r\n")
	if set.ArchivePolicy.Archived() && s.site() != "" {
		h.WriteString("List-Archive: <" + s.listURL(l) + "archive/>\r\n")
	}
	h.WriteString("Precedence: list\r\n")
	h.WriteString("X-BeenThere: " + addr + "\r\n")
	return &outPost{list: l, header: h.Bytes(), body: body, msgID: msg.get("Message-Id")}
}

// prefixed puts prefix in front of a subject unless it is already there
// ("Re: [list] ..." keeps its single prefix).
func prefixed(prefix, raw, decoded string) string {
	p := strings.TrimSpace(prefix)
	if p == "" || strings.Contains(strings.ToLower(decoded), strings.ToLower(p)) {
		return raw
	}
	return p + " " + raw
}

// listID is the RFC 2919 List-Id: "Display" <name.domain>.
func listID(l *lists.List) string {
	id := "<" + l.Name + "." + l.Domain + ">"
	if l.DisplayName == "" {
		return id
	}
	return mime.QEncoding.Encode("utf-8", quotePhrase(l.DisplayName)) + " " + id
}

func quotePhrase(s string) string {
	if strings.ContainsAny(s, "\"\\()<>@,;:[].") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}

// listURL is the list's page on the web UI, ending in "/"; "" without SiteURL.
func (s *Server) listURL(l *lists.List) string {
	return s.listURLOf(l.Address())
}

func (s *Server) listURLOf(list string) string {
	site := s.site()
	if site == "" {
		return ""
	}
	return strings.TrimRight(site, "/") + "/lists/" + url.PathEscape(list) + "/"
}

// UnsubscribeURL is the one-click link for member of l (RFC 8058): a POST
// to it with "List-Unsubscribe=One-Click" unsubscribes without a login;
// the web UI checks the token with lists.Store.VerifyUnsubscribeToken.
func (s *Server) UnsubscribeURL(l *lists.List, member string) string {
	return s.unsubscribeURL(l.Address(), member)
}

func (s *Server) unsubscribeURL(list, member string) string {
	base := s.listURLOf(list)
	if base == "" {
		return ""
	}
	q := url.Values{}
	q.Set("address", member)
	q.Set("token", s.opts.Lists.UnsubscribeToken(list, member))
	return base + "unsubscribe?" + q.Encode()
}

// memberHeader is the per-member part of the header of a post to list.
func (s *Server) memberHeader(list, member string) []byte {
	unsub := "<mailto:" + lists.CompanionAddress(list, lists.AddrLeave) + ">"
	var b strings.Builder
	if u := s.unsubscribeURL(list, member); u != "" {
		unsub = "<" + u + ">,\r\n " + unsub
		b.WriteString("List-Unsubscribe: " + unsub + "\r\n")
		b.WriteString("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
	} else {
		b.WriteString("List-Unsubscribe: " + unsub + "\r\n")
	}
	return []byte(b.String())
}

// removeApprovalLine drops the first line of body that carries an approval
// password ("Approved: secret"), where the approved rule found it.
func removeApprovalLine(body []byte) []byte {
	rest := body
	off := 0
	for n := 0; len(rest) > 0 && n < 200; n++ {
		i := bytes.IndexByte(rest, '\n')
		line := rest
		if i >= 0 {
			line = rest[:i+1]
		}
		name, _, ok := strings.Cut(strings.TrimSpace(string(line)), ":")
		if ok {
			for _, f := range []string{"Approved", "Approve", "X-Approved", "X-Approve"} {
				if strings.EqualFold(strings.TrimSpace(name), f) {
					out := append([]byte(nil), body[:off]...)
					return append(out, body[off+len(line):]...)
				}
			}
		}
		off += len(line)
		rest = rest[len(line):]
	}
	return body
}
