package webui

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// A held message is shown as text only: its header fields and its text
// parts go into <pre> elements escaped by html/template, HTML parts are
// shown as their source, other parts are named but never served. Nothing
// in the message can run or load anything.

// Limits of what the message view decodes.
const (
	maxShownText  = 256 << 10 // bytes of text per part
	maxParts      = 50
	maxPartsDepth = 5
)

type headerLine struct {
	Name  string
	Value string
}

type partView struct {
	Type string
	Name string // file name of an attachment
	Size int
	Text string // shown text ("" for attachments)
	Note string // e.g. "HTML shown as source", "truncated"
}

type messageView struct {
	Headers []headerLine
	Parts   []partView
	Problem string
}

// viewMessage splits raw into header fields (decoded, in order) and parts.
func viewMessage(raw []byte) messageView {
	var v messageView
	hdr, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	if len(body) == 0 && !bytes.Contains(raw, []byte("\r\n\r\n")) {
		hdr, body, _ = bytes.Cut(raw, []byte("\n\n"))
	}
	dec := mime.WordDecoder{CharsetReader: charsetReader}
	sc := bufio.NewScanner(bytes.NewReader(hdr))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(v.Headers) > 0 {
			v.Headers[len(v.Headers)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v.Headers = append(v.Headers, headerLine{Name: name, Value: strings.TrimSpace(value)})
	}
	for i := range v.Headers {
		if d, err := dec.DecodeHeader(v.Headers[i].Value); err == nil {
			v.Headers[i].Value = d
		}
		v.Headers[i].Value = strings.ToValidUTF8(v.Headers[i].Value, "\uFFFD")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		v.Problem = "The message could not be parsed; its raw text is shown."
		v.Parts = []partView{textPart("text/plain", "", body, "raw")}
		return v
	}
	walkPart(&v, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body, 0)
	return v
}

func walkPart(v *messageView, ctype, cte, disp string, body io.Reader, depth int) {
	if len(v.Parts) >= maxParts {
		return
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || ctype == "" {
		mt, params = "text/plain", map[string]string{}
	}
	if strings.HasPrefix(mt, "multipart/") && depth < maxPartsDepth {
		mr := multipart.NewReader(body, params["boundary"])
		for range maxParts {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walkPart(v, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"),
				p.Header.Get("Content-Disposition"), p, depth+1)
		}
		return
	}
	data, _ := io.ReadAll(io.LimitReader(decodeCTE(cte, body), 16<<20))
	_, dparams, _ := mime.ParseMediaType(disp)
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if !strings.HasPrefix(mt, "text/") || strings.HasPrefix(disp, "attachment") {
		v.Parts = append(v.Parts, partView{Type: mt, Name: name, Size: len(data), Note: "attachment, not shown"})
		return
	}
	data = toUTF8(params["charset"], data)
	note := ""
	if mt == "text/html" {
		note = "HTML shown as source"
	}
	v.Parts = append(v.Parts, textPart(mt, name, data, note))
}

func textPart(mt, name string, data []byte, note string) partView {
	p := partView{Type: mt, Name: name, Size: len(data), Note: note}
	if len(data) > maxShownText {
		data = data[:maxShownText]
		if p.Note != "" {
			p.Note += "; "
		}
		p.Note += "truncated after " + strconv.Itoa(maxShownText>>10) + " KiB"
	}
	p.Text = strings.ToValidUTF8(string(data), "\uFFFD")
	return p
}

func decodeCTE(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &newlineStripper{r: r})
	}
	return r
}

// newlineStripper drops CR and LF, which the base64 decoder does not skip
// everywhere.
type newlineStripper struct{ r io.Reader }

func (n *newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, b := range p[:k] {
			if b != '\r' && b != '\n' && b != ' ' && b != '\t' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

func toUTF8(charset string, data []byte) []byte {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs == "" || cs == "utf-8" || cs == "us-ascii" || utf8.Valid(data) && cs != "iso-2022-jp" {
		return data
	}
	r, err := charsetReader(cs, bytes.NewReader(data))
	if err != nil {
		return data
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return data
	}
	return out
}

func charsetReader(charset string, in io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(in), nil
}

// strictCSP is sent with the message view in addition to (replacing) the
// site's policy: nothing but our own stylesheet and script.
const strictCSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type heldViewData struct {
	A    *access
	Post heldPostView
	Msg  messageView
}

type heldPostView struct {
	ID        int64
	Sender    string
	Subject   string
	Rule      string
	Reason    string
	State     string
	Held      string
	Moderator string
	ModReason string
	Waiting   bool
}

func (u *UI) heldView(w http.ResponseWriter, r *http.Request, a *access) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such held message.")
		return
	}
	h, err := u.o.Lists.GetHeld(r.Context(), a.List.Address(), id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := heldViewData{A: a, Post: heldPostView{ID: h.ID, Sender: h.Sender, Subject: h.Subject, Rule: h.Rule,
		Reason: h.Reason, State: string(h.State), Held: h.Held.UTC().Format("2006-01-02 15:04 UTC"),
		Moderator: h.Moderator, ModReason: h.ModReason, Waiting: h.State == "held"}}
	if h.Raw != nil {
		d.Msg = viewMessage(h.Raw)
	}
	w.Header().Set("Content-Security-Policy", strictCSP)
	w.Header().Set("Referrer-Policy", "no-referrer")
	u.render(w, r, http.StatusOK, "Held message #"+strconv.FormatInt(id, 10), nav(a, "Held message"), "heldview", d)
}
