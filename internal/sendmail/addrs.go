package sendmail

import (
	"io"
	"mime"
	"net/mail"
	"strings"
)

// headerRcpts returns the recipients named in the header for -t: those of
// the Resent-To, Resent-Cc and Resent-Bcc fields if there are any, else
// those of To, Cc and Bcc.
func headerRcpts(fields []field) ([]string, error) {
	names := []string{"to", "cc", "bcc"}
	for _, f := range fields {
		switch strings.ToLower(f.name) {
		case "resent-to", "resent-cc", "resent-bcc":
			names = []string{"resent-to", "resent-cc", "resent-bcc"}
		}
	}
	var out []string
	for _, f := range fields {
		lower := strings.ToLower(f.name)
		if lower != names[0] && lower != names[1] && lower != names[2] {
			continue
		}
		addrs, err := parseAddrList(f.value())
		if err != nil {
			return nil, &HeaderError{Field: f.name, Reason: err.Error()}
		}
		out = append(out, addrs...)
	}
	return out, nil
}

// parseAddrList returns the addresses of an address-list field (RFC 5322:
// display names, groups, comments). When the strict parse fails, each item
// is tried alone and a bare address without domain ("root", as cron writes)
// or an address in angle brackets after an unparsable name is accepted.
func parseAddrList(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: rawCharset}}
	list, err := p.ParseList(v)
	if err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, envelopeAddr(a.Address))
		}
		return out, nil
	}
	var out []string
	for _, item := range splitList(v) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if a, perr := p.Parse(item); perr == nil {
			out = append(out, envelopeAddr(a.Address))
			continue
		}
		bare := item
		if i := strings.LastIndexByte(item, '<'); i >= 0 && strings.HasSuffix(item, ">") {
			bare = strings.TrimSpace(item[i+1 : len(item)-1])
		}
		if !plainAddr(bare) {
			return nil, err
		}
		out = append(out, bare)
	}
	return out, nil
}

// rawCharset lets encoded words in unknown charsets through undecoded: only
// the addresses matter here, not the display names.
func rawCharset(_ string, input io.Reader) (io.Reader, error) { return input, nil }

// envelopeAddr formats a parsed address for the envelope, quoting the local
// part again when it needs it.
func envelopeAddr(addr string) string {
	s := (&mail.Address{Address: addr}).String()
	return strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
}

// plainAddr accepts local or local@domain made of characters that need no
// quoting (UTF-8 allowed).
func plainAddr(s string) bool {
	if s == "" || strings.Count(s, "@") > 1 || strings.HasPrefix(s, "@") || strings.HasSuffix(s, "@") {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`"(),:;<>[\]`, r) {
			return false
		}
	}
	return true
}

// formatFrom returns the value of a From: field for an address and an
// optional full name, encoding a non-ASCII name (RFC 2047). Control
// characters in the name become spaces, so that it stays one field.
func formatFrom(name, addr string) string {
	name = strings.Join(strings.FieldsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }), " ")
	if name == "" {
		return addr
	}
	if !isPrintableASCII(strings.ReplaceAll(name, " ", "")) {
		return mime.BEncoding.Encode("utf-8", name) + " <" + addr + ">"
	}
	q := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name)
	return `"` + q + `" <` + addr + ">"
}
