package mimetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(alternative))
	f.Add([]byte(nested))
	f.Add([]byte("Subject: =?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?=\nContent-Type: text/html\n\n<p>x<script>y"))
	f.Add([]byte("From: \xe9 <a@b>\nContent-Type: multipart/digest; boundary=\"\"\n\n--\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Parse(raw)
		if err != nil || d == nil {
			t.Fatalf("Parse: %v", err)
		}
		for _, s := range append([]string{d.Subject, d.FromName, d.FromAddr, d.Text, d.HTML}, d.To...) {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %q", s)
			}
		}
		if strings.Contains(strings.ToLower(d.HTML), "<script") {
			t.Fatalf("script in HTML %q", d.HTML)
		}
		for i, a := range d.Attachments {
			if a.Index != i {
				t.Fatalf("attachment %d has index %d", i, a.Index)
			}
			ct, name, data, err := AttachmentData(raw, i)
			if err != nil || ct != a.ContentType || name != a.Filename || len(data) != a.Size {
				t.Fatalf("AttachmentData(%d) = %q %q %d bytes %v; Parse listed %+v", i, ct, name, len(data), err, a)
			}
			if strings.ContainsAny(name, "/\\\x00") {
				t.Fatalf("filename %q", name)
			}
		}
		_ = SearchText(d)
	})
}
