//go:build !smallhelper

package main

// Where login --verify may send a credential over plain http: docker's
// rule, not go-containerregistry's.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// plainHTTPAllowed reports whether a credential may go to host
// (host[:port]) over plain http. docker allows it for its insecure
// registries, which are 127.0.0.0/8 and ::1 unless configured
// (docker/docs "Test an insecure registry", registry.newServiceConfig);
// here a loopback host (localhost, 127.0.0.0/8, ::1) or one the config
// marks insecure: true. go-containerregistry's name rules also take http
// for 10/8, 172.16/12, 192.168/16 and *.local: a password sent there in
// clear text can be read by anyone on the network between, so those need
// the mark too. A name is judged as written, never by what it resolves
// to: DNS would let whoever answers it decide.
func plainHTTPAllowed(host string, insecure bool) bool {
	return insecure || isLoopbackHost(host)
}

// isLoopbackHost reports whether host[:port] names the loopback interface:
// localhost, an address in 127.0.0.0/8, or ::1 (bracketed or not).
func isLoopbackHost(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if strings.EqualFold(name, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(name)
	return err == nil && addr.Zone() == "" && addr.Unmap().IsLoopback()
}

// pingScheme picks the scheme for host's registry with an anonymous
// GET /v2/ and returns the answer (its body for the caller to close):
// https whenever the registry answers it; plain http only when allowHTTP
// and the https port answered in plain HTTP (http.ErrSchemeMismatch), the
// sign of a registry that speaks no TLS. Any other https failure is the
// result, never a reason to try http: above all a TLS failure (an
// untrusted certificate, a failed handshake), which is what a machine in
// the middle causes and hopes will be followed by the credential in clear.
func pingScheme(ctx context.Context, host string, allowHTTP bool, rt http.RoundTripper) (string, *http.Response, error) {
	resp, err := getV2(ctx, "https", host, plainHTTPGuard{inner: rt, host: host})
	switch {
	case err == nil:
		return "https", resp, nil
	case !errors.Is(err, http.ErrSchemeMismatch):
		return "", nil, err
	case !allowHTTP:
		return "", nil, fmt.Errorf("%w; a credential goes over plain http only to a loopback host or to one the config marks insecure: true", err)
	}
	resp, err = getV2(ctx, "http", host, plainHTTPGuard{inner: rt, host: host, allow: true})
	if err != nil {
		return "", nil, err
	}
	return "http", resp, nil
}

// getV2 is an anonymous GET scheme://host/v2/.
func getV2(ctx context.Context, scheme, host string, rt http.RoundTripper) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host+"/v2/", nil)
	if err != nil {
		return nil, err
	}
	return (&http.Client{Transport: rt}).Do(req)
}

// plainHTTPGuard refuses every plain http request unless allow is set,
// and then allows only the registry's host (and loopback hosts, where a
// local registry's token service may run). It is the last line: whatever
// go-containerregistry's transport decides (its ping races http against
// https for private addresses; a redirect or a token realm may name http),
// no request leaves over plain http where pingScheme did not choose it.
type plainHTTPGuard struct {
	inner http.RoundTripper
	host  string // the registry's host[:port], as in its URLs
	allow bool
}

func (g plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !(g.allow && (strings.EqualFold(req.URL.Host, g.host) || isLoopbackHost(req.URL.Host))) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing %s://%s: a credential goes over plain http only to a loopback host or to one the config marks insecure: true, and never after https failed", req.URL.Scheme, req.URL.Host)
	}
	return g.inner.RoundTrip(req)
}
