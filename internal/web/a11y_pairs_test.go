package web

import "testing"

// The stylesheets, relative to this package's directory, as the pages
// load them: every page has posthorn.css, list pages add webui.css,
// archive pages archive.css; the dashboard has its own.
const (
	coreCSS      = "assets/posthorn.css"
	webuiCSS     = "../webui/assets/webui.css"
	archiveCSS   = "../archiveweb/assets/archive.css"
	dashboardCSS = "../dashboard/dashboard.css"
)

// pageBG is the page background every layout page draws on.
var pageBG = c("body", "background")

// corePairs are drawn by the shared layout and every page in it.
var corePairs = []pair{
	{"body text on the page", c("body", "color"), pageBG, textMin},
	{"link on the page", c("a", "color"), pageBG, textMin},
	{"muted text on the page", c(".muted", "color"), pageBG, textMin},
	{"error text on the page", c(".error", "color"), pageBG, textMin},
	{"notice text on the page", c(".notice", "color"), pageBG, textMin},
	{"breadcrumb separator", c(".crumbs li + li::before", "color"), pageBG, uiMin},
	{"brand link in the header", c("a", "color"), pageBG, textMin},
	{"button text", c("button", "color"), c("button", "background"), textMin},
	{"button boundary on the page", c("button", "border"), pageBG, uiMin},
	{"secondary button text", c("button.secondary", "color"), c("button.secondary", "background"), textMin},
	{"danger button text", c("button", "color"), c("button.danger", "background"), textMin},
	{"danger button boundary on the page", c("button.danger", "border-color"), pageBG, uiMin},
	{"text field boundary on the page", c("input[type=text]", "border"), pageBG, uiMin},
	{"text in a text field", c("body", "color"), c("input[type=text]", "background"), textMin},
	{"preformatted text", c("body", "color"), c("pre", "background"), textMin},
	{"focus ring on the page", c("a:focus", "outline"), pageBG, uiMin},
	{"focus ring on a details summary", c("summary:focus", "outline"), pageBG, uiMin},
	{"skip link when focused", c("a", "color"), c(".skip:focus", "background"), textMin},
	{"focus ring around the skip link", c("a:focus", "outline"), c(".skip:focus", "background"), uiMin},
}

// webuiPairs are drawn by the list pages (webui.css on top of the core).
var webuiPairs = []pair{
	{"text in the current held row", c("body", "color"), c("tr.current", "background"), textMin},
	{"link in the current held row", c("a", "color"), c("tr.current", "background"), textMin},
	{"muted text in the current held row", c(".muted", "color"), c("tr.current", "background"), textMin},
	{"current held row outline on the page", c("tr.current", "outline"), pageBG, uiMin},
	{"focus ring in the current held row", c("a:focus", "outline"), c("tr.current", "background"), uiMin},
	{"invalid field boundary", c(".field.invalid input", "border-color"), pageBG, uiMin},
	{"warnings box boundary", c(".warnings", "border"), pageBG, uiMin},
	{"warnings heading", c(".warnings h2", "color"), pageBG, textMin},
}

// archivePairs are drawn by the archive pages (archive.css on the core).
var archivePairs = []pair{
	{"author in a month listing", c("ul.posts .by", "color"), pageBG, textMin},
	{"date in a month listing", c("ul.posts time", "color"), pageBG, textMin},
	{"removed message link", c(".removed", "color"), pageBG, textMin},
	{"search hit highlight", c("body", "color"), c("mark", "background"), textMin},
	{"tombstone box boundary", c(".tombstone", "border"), pageBG, 1}, // decorative: the text says what it is
}

// dashboardPairs are drawn by the dashboard, which has its own sheet.
var dashboardPairs = []pair{
	{"dashboard text on the page", c("body", "color"), c("body", "background"), textMin},
	{"dashboard text on a card", c("body", "color"), c(".card", "background"), textMin},
	{"period line on the page", c(".period", "color"), c("body", "background"), textMin},
	{"stat label on its box", c(".stat .label", "color"), c(".stat", "background"), textMin},
	{"table heading on a card", c("thead th", "color"), c(".card", "background"), textMin},
	{"range link", c(".ranges a", "color"), c(".ranges", "background"), textMin},
	{"range link hovered", c(".ranges a", "color"), c(".ranges a:hover", "background"), textMin},
	{"current range", c(".ranges a", "color"), c(`.ranges a[aria-current="page"]`, "background"), textMin},
	{"focus ring on the range bar", c(".ranges a:focus-visible", "outline"), c(".ranges", "background"), uiMin},
	{"focus ring on the current range", c(".ranges a:focus-visible", "outline"), c(`.ranges a[aria-current="page"]`, "background"), uiMin},
	{"upstream up pill", c(".pill.up", "color"), c(".pill.up", "background"), textMin},
	{"upstream down pill", c(".pill.down", "color"), c(".pill.down", "background"), textMin},
	{"no-mail notice", c("body", "color"), c(".nomail", "background"), textMin},
	{"empty chart text, light stripe", c(".empty", "color"), ref{".empty", "background", 0}, textMin},
	{"empty chart text, dark stripe", c(".empty", "color"), ref{".empty", "background", 1}, textMin},
	{"chart axis labels", c("svg.chart text", "fill"), c(".card", "background"), textMin},
	{"chart row labels", c("svg.chart .row-label", "fill"), c(".card", "background"), textMin},
	{"chart baseline and ticks", c("svg.chart .baseline", "stroke"), c(".card", "background"), uiMin},
	{"skip link when focused", c(".skip:focus", "color"), c(".skip:focus", "background"), textMin},
	{"focus ring around the skip link", c(".skip:focus", "outline"), c("body", "background"), uiMin},
}

func TestContrastCore(t *testing.T) {
	t.Parallel()
	checkPairs(t, loadSheets(t, coreCSS), corePairs)
}

func TestContrastListPages(t *testing.T) {
	t.Parallel()
	checkPairs(t, loadSheets(t, coreCSS, webuiCSS), webuiPairs)
}

func TestContrastArchive(t *testing.T) {
	t.Parallel()
	checkPairs(t, loadSheets(t, coreCSS, archiveCSS), archivePairs)
}

func TestContrastDashboard(t *testing.T) {
	t.Parallel()
	checkPairs(t, loadSheets(t, dashboardCSS), dashboardPairs)
}

// TestContrastPairsFail makes sure the check can fail: a grey too light
// for text, and a missing rule, are both reported.
func TestContrastPairsFail(t *testing.T) {
	t.Parallel()
	s := &sheet{vars: map[string]string{"--pale": "#999"}, rules: map[string]map[string]string{
		"body": {"color": "var(--pale)", "background": "#fff"},
	}}
	for _, tc := range []struct {
		p    pair
		fail bool
	}{
		{pair{"pale text", c("body", "color"), c("body", "background"), textMin}, true},
		{pair{"pale ring", c("body", "color"), c("body", "background"), 2.5}, false},
		{pair{"no such rule", c("p", "color"), c("body", "background"), textMin}, true},
	} {
		fg, errF := s.color(tc.p.fg.sel, tc.p.fg.prop, 0)
		bg, errB := s.color(tc.p.bg.sel, tc.p.bg.prop, 0)
		failed := errF != nil || errB != nil || contrast(fg, bg) < tc.p.min
		if failed != tc.fail {
			t.Errorf("%s: failed=%v, want %v", tc.p.name, failed, tc.fail)
		}
	}
}
