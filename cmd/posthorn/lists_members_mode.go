package main

// posthorn members set: a member's delivery mode and digest format, what
// the member may change with "set digest" by mail or on the list's page,
// and an owner on the members page.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/posthorn/posthorn/internal/lists"
)

// memberModeOptions reads --mode and --digest-format of members set; an
// option not given is "" (unchanged).
func (c *listsCommand) memberModeOptions() (lists.DeliveryMode, lists.DigestFormat, error) {
	o := c.args.opts
	if !c.args.has("--mode") && !c.args.has("--digest-format") {
		return "", "", usagef("say what to set: --mode regular|digest, --digest-format mime|plain, or both")
	}
	var mode lists.DeliveryMode
	var format lists.DigestFormat
	if c.args.has("--mode") {
		mode = lists.DeliveryMode(strings.ToLower(strings.TrimSpace(o["--mode"])))
		if !mode.Valid() {
			return "", "", usagef("--mode %q: want regular or digest", o["--mode"])
		}
	}
	if c.args.has("--digest-format") {
		f, err := lists.ParseDigestFormat(o["--digest-format"])
		if err != nil {
			return "", "", usagef("--digest-format %q: want mime or plain", o["--digest-format"])
		}
		format = f
	}
	return mode, format, nil
}

// membersSet sets the delivery mode and/or digest format of member rows
// (only the member role has them), one line per address.
func membersSet(c *listsCommand) error {
	if err := c.want(2, -1, "a list address and member addresses"); err != nil {
		return err
	}
	mode, format, err := c.memberModeOptions()
	if err != nil {
		return err
	}
	l, err := c.st.GetList(c.ctx, c.args.words[0])
	if err != nil {
		return err
	}
	if mode == lists.ModeDigest && !l.Settings.DigestEnabled {
		return fmt.Errorf("%s does not send digests (digest_enabled = false): nothing changed", l.Address())
	}
	addrs := c.args.words[1:]
	failed := 0
	for _, addr := range addrs {
		m, err := c.setMemberMode(l.Address(), addr, mode, format)
		if err != nil {
			failed++
			fmt.Fprintf(c.stderr, "%s: %s\n", addr, strings.TrimPrefix(err.Error(), "lists: "))
			continue
		}
		fmt.Fprintf(c.stdout, "%s: mode %s, digest format %s\n", m.Address, m.Mode, m.DigestFormat)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d address%s failed", failed, len(addrs), pluralES(len(addrs)))
	}
	return nil
}

// setMemberMode changes one member row and returns it as it is now. The
// format goes first: it changes nothing a member gets in regular mode, so
// a failure between the two writes leaves the mode as it was.
func (c *listsCommand) setMemberMode(list, addr string, mode lists.DeliveryMode, format lists.DigestFormat) (*lists.Member, error) {
	if format != "" {
		if err := c.st.SetDigestFormat(c.ctx, list, addr, format); err != nil {
			return nil, notMember(err)
		}
	}
	if mode != "" {
		if err := c.st.SetDeliveryMode(c.ctx, list, addr, mode); err != nil {
			return nil, notMember(err)
		}
	}
	return c.st.GetMember(c.ctx, list, addr, lists.RoleMember)
}

// notMember words a missing member row for the operator.
func notMember(err error) error {
	var nf *lists.NotFoundError
	if errors.As(err, &nf) {
		return fmt.Errorf("not a member of the list (only member rows have a delivery mode): %s", nf.Key)
	}
	return err
}

// modeText is the MODE column of members list: "regular" or "digest
// (plain)" for a member row, "-" for the other roles.
func modeText(m memberOut) string {
	switch {
	case m.Mode == "":
		return "-"
	case m.Mode == string(lists.ModeDigest):
		return m.Mode + " (" + m.DigestFormat + ")"
	}
	return m.Mode
}
