package main

// The rules for a hosts[].host: a name docker looks up, and one Docker
// config key per host.

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// checkHostName refuses a host docker never looks up. docker and
// go-containerregistry take the registry of an image reference as
// distribution/reference's domainAndPort, `host[:port]` or
// `[ipv6][:port]` (github.com/distribution/reference, regexp.go), and
// look its credential up under exactly that text: any other spelling
// stores a credential nothing reads. The specific cases come first so that
// the error says what is wrong.
func checkHostName(host string) error {
	switch {
	case host == "":
		return errors.New("host is required")
	case strings.Contains(host, "://"):
		return fmt.Errorf("host %q must be host[:port], without a scheme", host)
	case strings.TrimSpace(host) != host:
		return fmt.Errorf("host %q must be host[:port], without surrounding space", host)
	case strings.ContainsFunc(host, unicode.IsControl):
		return fmt.Errorf("host %q must be host[:port], without control characters", host)
	case strings.Contains(host, "/"):
		return fmt.Errorf("host %q must be host[:port], without a path", host)
	case strings.Contains(host, "@"):
		return fmt.Errorf("host %q must be host[:port], without a user (user@)", host)
	case strings.Contains(host, "?"):
		return fmt.Errorf("host %q must be host[:port], without a query", host)
	case strings.Contains(host, "#"):
		return fmt.Errorf("host %q must be host[:port], without a fragment", host)
	}
	name, port, hasPort, err := splitHostPort(host)
	if err != nil {
		return fmt.Errorf("host %q must be host[:port] or [ipv6][:port]: %w", host, err)
	}
	if hasPort {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '+' {
			return fmt.Errorf("host %q: port %q must be a number from 1 to 65535", host, port)
		}
	}
	if strings.HasPrefix(name, "[") {
		return nil // checked by splitHostPort
	}
	if !isDomain(name) {
		return fmt.Errorf("host %q must be host[:port]: %q is not a host name (dot-separated labels of letters, digits and inner '-')", host, name)
	}
	return nil
}

// splitHostPort splits host[:port] or [ipv6][:port]; hasPort tells
// "r.example:" from "r.example". A bracketed address must be an IPv6 address without a
// zone, as distribution/reference's ipv6address allows.
func splitHostPort(host string) (name, port string, hasPort bool, err error) {
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", "", false, errors.New("missing ]")
		}
		name, rest := host[:end+1], host[end+1:]
		addr, err := netip.ParseAddr(name[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" || strings.Contains(name, ".") {
			return "", "", false, fmt.Errorf("%q is not an IPv6 address", name)
		}
		if rest == "" {
			return name, "", false, nil
		}
		port, ok := strings.CutPrefix(rest, ":")
		if !ok {
			return "", "", false, fmt.Errorf("%q after the address is not :port", rest)
		}
		return name, port, true, nil
	}
	if strings.Count(host, ":") > 1 {
		return "", "", false, errors.New("an IPv6 address must be in brackets, as [::1]:5000")
	}
	name, port, hasPort = strings.Cut(host, ":")
	return name, port, hasPort, nil
}

// isDomain reports whether name is distribution/reference's domainName:
// labels of ASCII letters and digits, with '-' inside, joined by dots.
func isDomain(name string) bool {
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c != '-' && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				return false
			}
		}
	}
	return true
}

// hostForKey returns the host with a credential that is stored under the
// Docker config key key: the host a credential helper's get names, or the
// registry of an image the kubelet pulls.
func (c *config) hostForKey(key string) (hostConfig, bool) {
	for _, h := range c.Hosts {
		if registryKey(h.Host) == key && h.hasCredential() {
			return h, true
		}
	}
	return hostConfig{}, false
}
