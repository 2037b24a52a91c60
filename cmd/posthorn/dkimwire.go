package main

import (
	"fmt"
	"io"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/dkim"
)

// dkimSigner loads the [[dkim]] keys of cfg; nil when there are none. An
// unreadable or unusable key refuses the configuration (check, reload and
// start alike).
func dkimSigner(cfg *config.Config) (*dkim.Signer, error) {
	if len(cfg.DKIM) == 0 {
		return nil, nil
	}
	keys := make([]dkim.Key, len(cfg.DKIM))
	for i, k := range cfg.DKIM {
		keys[i] = dkim.Key{Domain: k.Domain, Selector: k.Selector, KeyFile: k.KeyFile, Expire: k.Expire.Std()}
	}
	s, err := dkim.New(keys, time.Now)
	if err != nil {
		return nil, fmt.Errorf("dkim: %w", err)
	}
	return s, nil
}

// writeDKIMRecords prints the DNS TXT record each configured key needs.
func writeDKIMRecords(w io.Writer, s *dkim.Signer) error {
	if s == nil {
		return nil
	}
	recs, err := s.Records()
	if err != nil {
		return err
	}
	for _, r := range recs {
		fmt.Fprintf(w, "dkim: publish %s IN TXT %q\n", r.Name, r.Value)
	}
	return nil
}
