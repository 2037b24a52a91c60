package web

import "net/http"

// ContentSecurityPolicy is sent with every response: pages load nothing but
// their own site's styles and images (data: images for inline charts), run
// no script at all (no inline script, no eval), cannot be framed, and post
// forms only to the site.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; " +
	"frame-ancestors 'none'; form-action 'self'"

// setSecurityHeaders puts the headers every response carries. Cache-Control
// is handled by cacheWriter.
func (a *Auth) setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if a.Secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// cacheWriter decides Cache-Control when the response starts: a page for a
// logged-in viewer is never stored by any cache, whatever the handler
// said; an anonymous response is not stored unless its handler chose a
// policy (the stylesheet, public archive pages).
type cacheWriter struct {
	http.ResponseWriter
	private bool
	wrote   bool
}

func (w *cacheWriter) decide() {
	if w.wrote {
		return
	}
	w.wrote = true
	h := w.Header()
	if w.private || h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
}

func (w *cacheWriter) WriteHeader(status int) {
	w.decide()
	w.ResponseWriter.WriteHeader(status)
}

func (w *cacheWriter) Write(b []byte) (int, error) {
	w.decide()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer
// (Flush, deadlines).
func (w *cacheWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
