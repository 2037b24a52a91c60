package web

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRenderEscapesAndCarriesViewer(t *testing.T) {
	t.Parallel()
	rd, err := NewRenderer(nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := template.Must(template.New("p").Parse(`{{define "body"}}<p>{{.}}</p>{{end}}`))
	r := httptest.NewRequest("GET", "/x", nil)
	r = r.WithContext(WithCSRF(WithViewer(r.Context(), &Viewer{Email: "mod@example.org"}), "tok123"))
	w := httptest.NewRecorder()
	rd.Render(w, r, http.StatusOK, Page{Title: "Held <posts>"}, tmpl, "body", "<script>alert(1)</script>")
	got := w.Body.String()
	for _, want := range []string{"&lt;script&gt;", "Held &lt;posts&gt;", "mod@example.org", `value="tok123"`} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<script>") {
		t.Errorf("unescaped script in page")
	}
}

func TestRenderTemplateErrorHidesDetails(t *testing.T) {
	t.Parallel()
	rd, err := NewRenderer(nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := template.Must(template.New("p").Parse(`{{define "body"}}{{.Missing.Field}}{{end}}`))
	w := httptest.NewRecorder()
	rd.Render(w, httptest.NewRequest("GET", "/x", nil), http.StatusOK, Page{Title: "x"}, tmpl, "body", struct{}{})
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if strings.Contains(w.Body.String(), "Missing") {
		t.Errorf("template error leaked to the browser: %s", w.Body.String())
	}
}
