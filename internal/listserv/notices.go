package listserv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/spool"
)

// notice is a plain-text message the list server writes itself.
type notice struct {
	list      *lists.List
	kind      string // for the mail log: held, awaiting, rejected, moderators, confirm, command, expired, ...
	from      string // header From address: a companion address of the list
	to        []string
	subject   string
	text      string
	inReply   string // Message-ID the notice answers
	replyTo   string
	generated bool // Auto-Submitted: auto-generated (else auto-replied)
	// envFrom is the envelope sender; "" is the list's -bounces address.
	envFrom string
}

// send submits n with the list's -bounces address as envelope sender (or
// n.envFrom), so that a notice which bounces comes back without a member to
// score.
func (s *Server) send(ctx context.Context, n notice) (string, error) {
	if len(n.to) == 0 {
		return "", nil
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	now := s.opts.Now()
	id, err := s.newMessageID()
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	name := n.list.DisplayName
	if name == "" {
		name = n.list.Name
	}
	fmt.Fprintf(&b, "From: %s <%s>\r\n", mime.QEncoding.Encode("utf-8", quotePhrase(name)), n.from)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(n.to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", n.subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: %s\r\n", id)
	if n.inReply != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", n.inReply, n.inReply)
	}
	if n.replyTo != "" {
		fmt.Fprintf(&b, "Reply-To: %s\r\n", n.replyTo)
	}
	auto := "auto-replied"
	if n.generated {
		auto = "auto-generated"
	}
	fmt.Fprintf(&b, "Auto-Submitted: %s\r\nPrecedence: bulk\r\nX-BeenThere: %s\r\n", auto, n.list.Address())
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	text := strings.ReplaceAll(strings.ReplaceAll(n.text, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(text)
	if !strings.HasSuffix(text, "\r\n") {
		b.WriteString("\r\n")
	}
	envFrom := n.envFrom
	if envFrom == "" {
		envFrom = lists.CompanionAddress(n.list.Address(), lists.AddrBounces)
	}
	env := &spool.Envelope{From: envFrom, Rcpts: n.to,
		Arrival: now, MessageID: id, Service: "lists", Client: "local"}
	qid, err := s.opts.Submit(env, &b)
	if err != nil {
		return "", fmt.Errorf("submit %s notice: %w", n.kind, err)
	}
	s.mlog.Record(maillog.Event{Time: now, Kind: maillog.Notice, QueueID: qid, MessageID: n.inReply,
		List: n.list.Address(), Action: "list-" + n.kind, NoticeID: qid, Rcpt: strings.Join(n.to, ","), Rcpts: len(n.to)})
	return qid, nil
}

func (s *Server) newMessageID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	return "<" + hex.EncodeToString(b) + "@" + s.opts.Hostname + ">", nil
}

// moderators returns the addresses of l's moderators and owners.
func (s *Server) moderators(ctx context.Context, l *lists.List) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, role := range []lists.Role{lists.RoleOwner, lists.RoleModerator} {
		q := lists.MemberQuery{Role: role, Limit: 1000}
		page, err := s.opts.Lists.Members(ctx, l.Address(), q)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Members {
			if k := strings.ToLower(m.Address); !seen[k] {
				seen[k] = true
				out = append(out, m.Address)
			}
		}
	}
	return out, nil
}

// owners returns the addresses of l's owners.
func (s *Server) owners(ctx context.Context, l *lists.List) ([]string, error) {
	page, err := s.opts.Lists.Members(ctx, l.Address(), lists.MemberQuery{Role: lists.RoleOwner, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range page.Members {
		out = append(out, m.Address)
	}
	return out, nil
}

// canNotify reports whether a notice may go to addr: not to the null
// sender, our own list addresses, or typical daemon mailboxes.
func canNotify(addr string) bool {
	a := strings.ToLower(addr)
	if a == "" || !strings.Contains(a, "@") {
		return false
	}
	local := a[:strings.LastIndexByte(a, '@')]
	for _, p := range []string{"mailer-daemon", "postmaster", "noreply", "no-reply"} {
		if local == p {
			return false
		}
	}
	_, role, _, _ := lists.ParseAddress(a)
	return role != lists.AddrBounces
}
