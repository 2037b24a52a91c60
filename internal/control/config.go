package control

import (
	"context"
	"net/http"
	"time"
)

// ConfigOps is what the control API does with the daemon's configuration.
type ConfigOps interface {
	// Reload loads, checks and applies the configuration file; on an error
	// the running configuration stays.
	Reload(ctx context.Context) (RunningConfig, error)
	// Running describes the configuration in force.
	Running() RunningConfig
}

// RunningConfig describes the configuration a daemon runs.
type RunningConfig struct {
	Path        string    `json:"path"` // "" when running on embedded defaults
	Fingerprint string    `json:"fingerprint"`
	Loaded      time.Time `json:"loaded"`
	// TOML is the effective configuration with defaults filled in and
	// secrets redacted.
	TOML string `json:"toml"`
	// LastReloadError is why the last reload failed, "" when it succeeded
	// (or none was tried).
	LastReloadError string    `json:"last_reload_error,omitempty"`
	LastReloadAt    time.Time `json:"last_reload_at,omitzero"`
}

func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	rc, err := h.cfg.Reload(r.Context())
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rc)
}

func (h *handler) running(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.cfg.Running())
}

// Reload asks the daemon to reload its configuration file.
func (c *Client) Reload() (RunningConfig, error) {
	var rc RunningConfig
	err := c.do(http.MethodPost, "/v1/reload", &rc)
	return rc, err
}

// Running returns the daemon's running configuration.
func (c *Client) Running() (RunningConfig, error) {
	var rc RunningConfig
	err := c.do(http.MethodGet, "/v1/config", &rc)
	return rc, err
}
