package archiveweb

import (
	"errors"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/mimetext"
	"github.com/posthorn/posthorn/internal/sanitize"
	"github.com/posthorn/posthorn/internal/web"
)

// attachmentView is one attachment of the message page.
type attachmentView struct {
	Name string
	Type string
	Size int
	Href string
}

type messageData struct {
	A           *access
	E           *archive.Entry
	From        string // as the viewer may see it
	Text        string
	HTML        template.HTML
	Attachments []attachmentView
	Problems    bool
	N           archive.Neighbours
	Parent      int64
	Permalink   string
	Month       string // the month listing's URL
	Status      int
}

// number parses the {number} path value.
func number(r *http.Request) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue("number"), 10, 64)
	return n, err == nil && n >= 0
}

// message shows a message, or its tombstone with 410 Gone.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, a *access) {
	n, ok := number(r)
	if !ok {
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such message in this archive.")
		return
	}
	ctx := r.Context()
	list := a.Address()
	e, err := h.o.Archive.Get(ctx, list, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	nb, err := h.o.Archive.Neighbours(ctx, list, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := messageData{A: a, E: e, N: nb, Parent: e.ParentNumber, Status: http.StatusOK,
		Permalink: h.siteURL(r) + archivePath(list, "m/"+e.Permalink),
		Month:     monthPath(list, e.Date.Year(), e.Date.Month())}
	nav := listNav(a, "#"+strconv.FormatInt(n, 10), monthLink(a, e))
	if e.Deleted {
		d.Status = http.StatusGone
		h.render(w, r, a, http.StatusGone, "Message "+strconv.FormatInt(n, 10)+" was removed", nav, "tombstone", d)
		return
	}
	raw, err := h.o.Archive.Raw(ctx, list, n)
	var de *archive.DeletedError
	if errors.As(err, &de) {
		// Deleted between the two reads: show the tombstone.
		h.message(w, r, a)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	doc, _ := mimetext.Parse(raw)
	d.From = a.address(e.FromAddr)
	if e.FromName != "" && d.From != "" {
		d.From = e.FromName + " <" + d.From + ">"
	} else if e.FromName != "" {
		d.From = e.FromName
	}
	d.Problems = len(doc.Problems) > 0 || e.ParseError != ""
	if doc.HTML != "" {
		clean := sanitize.HTML(doc.HTML)
		if !a.Role {
			clean = hideAddresses(clean)
		}
		d.HTML = template.HTML(clean)
	} else {
		d.Text = doc.Text
		if !a.Role {
			d.Text = hideAddresses(d.Text)
		}
	}
	for _, at := range doc.Attachments {
		d.Attachments = append(d.Attachments, attachmentView{Name: displayName(at.Filename, at.Index), Type: at.ContentType,
			Size: at.Size, Href: messagePath(list, n) + "/attachments/" + strconv.Itoa(at.Index)})
	}
	subject := e.Subject
	if subject == "" {
		subject = "(no subject)"
	}
	h.render(w, r, a, http.StatusOK, subject, nav, "message", d)
}

func monthLink(a *access, e *archive.Entry) web.Link {
	return web.Link{Text: e.Date.Month().String() + " " + strconv.Itoa(e.Date.Year()),
		Href: monthPath(a.Address(), e.Date.Year(), e.Date.Month())}
}

// permalink sends /archive/{list}/m/{permalink} to the numbered page.
func (h *Handler) permalink(w http.ResponseWriter, r *http.Request, a *access) {
	e, err := h.o.Archive.GetByPermalink(r.Context(), a.Address(), r.PathValue("permalink"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, messagePath(a.Address(), e.Number), http.StatusMovedPermanently)
}

// inert are the attachment types served with their own content type:
// none of them is run or rendered as a page by a browser, and they are
// sent as downloads anyway.
var inert = map[string]bool{
	"application/pdf": true, "application/zip": true, "application/gzip": true,
	"application/octet-stream": true, "image/png": true, "image/jpeg": true, "image/gif": true,
	"image/webp": true, "text/plain": true, "text/csv": true, "audio/mpeg": true, "video/mp4": true,
}

// safeType is the content type an attachment is served with.
func safeType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !inert[strings.ToLower(mt)] {
		return "application/octet-stream"
	}
	mt = strings.ToLower(mt)
	if strings.HasPrefix(mt, "text/") {
		return mt + "; charset=utf-8"
	}
	return mt
}

// displayName is a file name safe for a page and a download: no
// directories, no control characters, not empty.
func displayName(name string, index int) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, name)
	name = strings.Trim(strings.TrimSpace(name), ".")
	if name == "" {
		return "attachment-" + strconv.Itoa(index)
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	return name
}

// attachment serves an attachment as a download.
func (h *Handler) attachment(w http.ResponseWriter, r *http.Request, a *access) {
	n, ok := number(r)
	idx, err := strconv.Atoi(r.PathValue("index"))
	if !ok || err != nil || idx < 0 {
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such attachment.")
		return
	}
	raw, err := h.o.Archive.Raw(r.Context(), a.Address(), n)
	var de *archive.DeletedError
	if errors.As(err, &de) {
		h.o.Renderer.Error(w, r, http.StatusGone, "This message was removed from the archive.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ct, name, data, err := mimetext.AttachmentData(raw, idx)
	if err != nil {
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such attachment.")
		return
	}
	a.cacheable(w)
	hd := w.Header()
	hd.Set("Content-Type", safeType(ct))
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": displayName(name, idx)}))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// deletePost replaces a message by its tombstone (owners and site admins).
func (h *Handler) deletePost(w http.ResponseWriter, r *http.Request, a *access) {
	if !a.Owner {
		h.o.Renderer.Error(w, r, http.StatusForbidden, "Only the owners of "+a.Address()+" may remove messages from its archive.")
		return
	}
	n, ok := number(r)
	if !ok {
		h.o.Renderer.Error(w, r, http.StatusNotFound, "There is no such message in this archive.")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		h.o.Renderer.Error(w, r, http.StatusBadRequest, "Say why the message is removed: the reason is shown in its place.")
		return
	}
	if err := h.o.Delete(r.Context(), a.Address(), n, reason, a.Viewer.Email); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("archiveweb: message removed", slog.String("list", a.Address()), slog.Int64("number", n),
		slog.String("by", a.Viewer.Email), slog.String("reason", reason))
	http.Redirect(w, r, messagePath(a.Address(), n), http.StatusSeeOther)
}
