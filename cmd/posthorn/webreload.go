package main

import (
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/posthorn/posthorn/internal/archiveweb"
	"github.com/posthorn/posthorn/internal/config"
)

// webSettings are the configuration keys the web interface is built from
// that a reload applies.
type webSettings struct {
	siteURL      string         // lists.site_url
	operatorNets []netip.Prefix // http.operator_networks
}

func webSettingsOf(cfg *config.Config) webSettings {
	s := webSettings{siteURL: cfg.Lists.SiteURL}
	for _, n := range cfg.HTTP.OperatorNetworks {
		if p, err := netip.ParsePrefix(n); err == nil { // Validate checked them
			s.operatorNets = append(s.operatorNets, p)
		}
	}
	return s
}

func (s webSettings) equal(o webSettings) bool {
	return s.siteURL == o.siteURL && slices.Equal(s.operatorNets, o.operatorNets)
}

// webGen is one generation of the site's handler.
type webGen struct {
	settings webSettings
	handler  http.Handler
}

// build registers the whole site on mux for settings: a login layer and
// archive pages made for them, the long-lived list and account pages, and
// the operator pages behind the operator check.
func (a *webApp) build(mux *http.ServeMux, s webSettings) (*webGen, error) {
	ao := a.archiveOpts
	ao.SiteURL = s.siteURL
	arch, err := archiveweb.New(ao)
	if err != nil {
		return nil, err
	}
	auth := a.newAuth(s.siteURL)
	auth.Routes(mux)
	a.ui.Routes(mux)
	a.api.Routes(mux)
	a.account.Routes(mux)
	arch.Routes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/lists", http.StatusSeeOther)
	})
	for pattern, h := range a.operator {
		mux.Handle(pattern, a.operatorOnly(h, s.operatorNets))
	}
	return &webGen{settings: s, handler: auth.Middleware(mux)}, nil
}

// reloadWeb applies a reloaded configuration to the web interface and the
// list server: lists.site_url (links in new list mail, password reset
// links, cookie security, archive feed links) and http.operator_networks
// take effect at once. The [lists] keys the list server reads only at
// start are named in a warning when they changed, like the other keys a
// reload cannot apply. It cannot fail: a generation that does not build
// (a broken embedded template, which the tests catch) keeps the old one
// and says so in the log.
func (d *daemon) reloadWeb(old, cfg *config.Config) {
	if d.listSrv != nil && cfg.Lists.SiteURL != old.Lists.SiteURL {
		d.listSrv.SetSiteURL(cfg.Lists.SiteURL)
	}
	if a := d.app; a != nil {
		s := webSettingsOf(cfg)
		if g := a.gen.Load(); g != nil && !g.settings.equal(s) {
			ng, err := a.build(http.NewServeMux(), s)
			if err != nil {
				d.logger.Error("web interface not reconfigured; lists.site_url and http.operator_networks keep their running values",
					slog.String("error", err.Error()))
			} else {
				a.gen.Store(ng)
				d.logger.Info("web interface reconfigured", slog.String("site_url", s.siteURL))
			}
		}
	}
	if keys := listsRestartKeys(old, cfg); len(keys) > 0 {
		d.logger.Warn(strings.Join(keys, ", ")+" take effect at the next restart",
			slog.String("keys", strings.Join(keys, ",")))
	}
}

// listsRestartKeys names the [lists] keys that differ between old and cfg
// and that the running list server cannot change.
func listsRestartKeys(old, cfg *config.Config) []string {
	o, n := old.Lists, cfg.Lists
	var keys []string
	for _, k := range []struct {
		name    string
		changed bool
	}{
		{"lists.secret_file", o.SecretFile != n.SecretFile},
		{"lists.hold_expiry", o.HoldExpiry != n.HoldExpiry},
		{"lists.moderator_notice_interval", o.ModeratorNoticeInterval != n.ModeratorNoticeInterval},
		{"lists.sender_notices_per_day", o.SenderNoticesPerDay != n.SenderNoticesPerDay},
		{"lists.bounce_threshold", o.BounceThreshold != n.BounceThreshold},
		{"lists.bounce_window", o.BounceWindow != n.BounceWindow},
		{"lists.bounce_probes", o.BounceProbes != n.BounceProbes},
		{"lists.bounce_probe_wait", o.BounceProbeWait != n.BounceProbeWait},
	} {
		if k.changed {
			keys = append(keys, k.name)
		}
	}
	return keys
}
