package webui

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

// settingsForm returns the form of the current settings as the page would
// submit it, with edits applied.
func currentForm(t *testing.T, f *fixture, edits map[string]string) url.Values {
	t.Helper()
	l, err := f.st.GetList(context.Background(), testList)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for _, fd := range fields(l.Settings) {
		form.Set(fd.Name, fd.Value)
	}
	for k, v := range edits {
		form.Set(k, v)
	}
	return form
}

func TestSettingsPreviewConfirmHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ow := viewer(owner)
	form := currentForm(t, f, map[string]string{"default_member_action": "hold", "max_recipients": "25",
		"banned_addresses": "spam@example.net\r\n^.*@spam\\.example$\r\n"})

	// Step 1: preview with the diff and the warning; nothing written.
	w := f.do(t, ow, "POST", lp("settings"), form)
	if w.Code != http.StatusOK {
		t.Fatalf("preview: status %d", w.Code)
	}
	body := w.Body.String()
	mustContain(t, body, "default_member_action", "&#34;hold&#34;", "max_recipients", "25", "would be held", `name="ack"`, `name="rev"`)
	if vs, _ := f.st.History(context.Background(), testList); len(vs) != 1 {
		t.Fatalf("preview wrote a version: %d versions", len(vs))
	}
	// The apply step posts what the preview carries in hidden fields.
	start := strings.LastIndex(body[:strings.Index(body, `name="rev"`)], "<form")
	apply, _, _ := strings.Cut(body[start:], "</form>")
	form = url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(apply, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("rev") == "" || form.Get("default_member_action") != "hold" {
		t.Fatalf("preview carries %v", form)
	}

	// Step 2: apply without acknowledging the warning: refused.
	form.Set("step", "apply")
	form.Set("reason", "moderate everybody during the flame war")
	w = f.do(t, ow, "POST", lp("settings"), form)
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("apply without ack: status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "Tick the box")

	// Without a reason: refused too.
	form.Set("ack", "yes")
	form.Set("reason", " ")
	if w = f.do(t, ow, "POST", lp("settings"), form); w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("apply without reason: status %d", w.Code)
	}

	// Step 3: apply with ack and reason.
	form.Set("reason", "moderate everybody during the flame war")
	w = f.do(t, ow, "POST", lp("settings"), form)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("apply: status %d: %s", w.Code, w.Body.String())
	}
	l, _ := f.st.GetList(context.Background(), testList)
	if l.Settings.DefaultMemberAction != lists.Hold || l.Settings.MaxRecipients != 25 ||
		!slices.Equal(l.Settings.BannedAddresses, []string{"spam@example.net", `^.*@spam\.example$`}) {
		t.Fatalf("settings not applied: %+v", l.Settings)
	}
	if a := f.lastAudit(); a.Action != "settings.change" || a.Actor != ow.Email || a.Target != "version 2" ||
		!strings.Contains(a.Detail, "flame war") {
		t.Errorf("audit entry %+v", a)
	}

	// History shows version 2 with author, reason and diff.
	w = f.do(t, ow, "GET", lp("history"), nil)
	mustContain(t, w.Body.String(), "Version 2 (current)", ow.Email, "moderate everybody during the flame war",
		"default_member_action", "&#34;accept&#34;", "Restore version 1")

	// A stale preview (the list changed since) is shown again, not applied.
	form.Set("max_recipients", "30")
	w = f.do(t, ow, "POST", lp("settings"), form)
	if w.Code != http.StatusConflict {
		t.Fatalf("stale apply: status %d", w.Code)
	}

	// Restore version 1 (which has no warning about members).
	w = f.do(t, ow, "POST", lp("history/1/restore"), url.Values{"reason": {"flame war over"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("restore: status %d: %s", w.Code, w.Body.String())
	}
	l, _ = f.st.GetList(context.Background(), testList)
	if l.Settings.DefaultMemberAction != lists.Accept || l.Settings.MaxRecipients != 10 {
		t.Fatalf("restore not applied: %+v", l.Settings)
	}
	w = f.do(t, ow, "GET", lp("history"), nil)
	mustContain(t, w.Body.String(), "Version 3 (current)", "restoring version 1", "flame war over")
}

func TestSettingsValidationErrorsNextToFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	form := currentForm(t, f, map[string]string{"max_recipients": "many", "banned_addresses": "spam@example.net\nnot-an-address", "reply_to": "explicit"})
	w := f.do(t, viewer(owner), "POST", lp("settings"), form)
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	mustContain(t, body, `id="err-max_recipients"`, "a whole number", `id="err-banned_addresses"`, `id="err-reply_to"`,
		"not-an-address", `value="many"`)
	if strings.Contains(body, `id="err-subject_prefix"`) {
		t.Error("error shown next to a valid field")
	}
}

func TestSettingsPairAcceptedInAnyOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	form := currentForm(t, f, map[string]string{"reply_to": "explicit", "reply_to_address": "discuss@example.org"})
	w := f.do(t, viewer(owner), "POST", lp("settings"), form)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	mustContain(t, w.Body.String(), "reply_to_address", "discuss@example.org")
}

func TestSettingsUnchangedRedirects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do(t, viewer(owner), "POST", lp("settings"), currentForm(t, f, nil))
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "unchanged") {
		t.Fatalf("status %d location %q", w.Code, w.Header().Get("Location"))
	}
}
