package smtpd

import "net/netip"

// Unknown is the service of a client no [[service]] claims.
const Unknown = "unknown"

// Service is a named sender identified by its client networks.
type Service struct {
	Name     string
	Networks []netip.Prefix
}

// serviceOf returns the first service whose networks contain ip.
func (s *Server) serviceOf(ip netip.Addr) string {
	ip = ip.Unmap()
	for _, svc := range s.opts.Services {
		for _, p := range svc.Networks {
			if p.Contains(ip) {
				return svc.Name
			}
		}
	}
	return Unknown
}
