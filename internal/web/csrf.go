package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"mime"
	"net/http"
	"strings"
)

// csrfFromSecret derives a logged-in session's CSRF token from the
// session's secret (the secret itself never appears in a page).
func csrfFromSecret(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("posthorn csrf token v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfCookieName is the anonymous visitor's double-submit cookie. With
// Secure the __Host- prefix stops a sibling subdomain from planting one.
func (a *Auth) csrfCookieName() string {
	if a.Secure {
		return "__Host-posthorn_csrf"
	}
	return "posthorn_csrf"
}

// anonCSRF returns the anonymous visitor's token from its cookie, setting a
// fresh cookie when there is none (or it is malformed).
func (a *Auth) anonCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(a.csrfCookieName()); err == nil && validToken(c.Value) {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: a.csrfCookieName(), Value: tok, Path: "/", HttpOnly: true,
		Secure: a.Secure, SameSite: http.SameSiteStrictMode})
	return tok
}

// validToken reports whether s looks like one of our tokens (43 base64url
// characters), so arbitrary cookie values are never echoed into pages.
func validToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// unsafeMethod reports whether m may change state and so needs the token.
func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// defaultMaxForm bounds a form body read to check its token (CSV imports
// included).
const defaultMaxForm = 32 << 20

// checkCSRF reports whether an unsafe request carries want, in the header
// CSRFHeader or the form field CSRFField, and was not sent by another site
// (Sec-Fetch-Site, where the browser sends it). The form is parsed here,
// so handlers read it from r.Form / r.MultipartForm as usual.
func (a *Auth) checkCSRF(w http.ResponseWriter, r *http.Request, want string) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		limit := a.MaxFormBytes
		if limit <= 0 {
			limit = defaultMaxForm
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		var err error
		if strings.HasPrefix(ct, "multipart/") {
			err = r.ParseMultipartForm(1 << 20)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			return false
		}
		got = r.PostFormValue(CSRFField)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
