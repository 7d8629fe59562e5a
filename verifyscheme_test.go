package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPlainHTTPAllowed pins docker's rule for plain http: loopback, or a
// host the config marks insecure, judged by the name as written.
func TestPlainHTTPAllowed(t *testing.T) {
	tests := []struct {
		host     string
		insecure bool
		want     bool
	}{
		{"localhost", false, true},
		{"localhost:5000", false, true},
		{"LocalHost:5000", false, true},
		{"127.0.0.1", false, true},
		{"127.0.0.1:5000", false, true},
		{"127.254.3.9:443", false, true},
		{"[::1]", false, true},
		{"[::1]:5000", false, true},
		{"[::ffff:127.0.0.1]:5000", false, true},
		// go-containerregistry's private ranges, and names that only
		// look local, need the mark.
		{"10.10.0.1:5000", false, false},
		{"172.16.0.1", false, false},
		{"172.31.255.255:5000", false, false},
		{"192.168.1.10:5000", false, false},
		{"registry.local", false, false},
		{"localhost.example.com", false, false},
		{"127.0.0.1.nip.io:5000", false, false},
		{"localhost-registry:5000", false, false},
		{"[fe80::1]:5000", false, false},
		{"0.0.0.0:5000", false, false},
		{"r.example.com", false, false},
		{"10.10.0.1:5000", true, true},
		{"r.example.com", true, true},
	}
	for _, tt := range tests {
		if got := plainHTTPAllowed(tt.host, tt.insecure); got != tt.want {
			t.Errorf("plainHTTPAllowed(%q, %v) = %v, want %v", tt.host, tt.insecure, got, tt.want)
		}
	}
}

// credentialRecorder is a registry that wants Basic auth for
// robot:registry-s3cr3t and records each request it receives.
type credentialRecorder struct {
	mu       sync.Mutex
	requests []string // "scheme METHOD PATH AUTH-SCHEME"
}

func (c *credentialRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	authScheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	c.mu.Lock()
	c.requests = append(c.requests, fmt.Sprintf("%s %s %s %s", scheme, r.Method, r.URL.Path, authScheme))
	c.mu.Unlock()
	if r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(fakeRegistryUser+":"+fakeRegistryPassword)) {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fmt.Fprintln(w, "{}")
}

func (c *credentialRecorder) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.requests...)
}

// routedTransport is --verify's transport with a dialer that sends each
// host:port of routes to a loopback address, so that a registry named
// 10.10.0.1 or localhost:443 is a server this test runs.
func routedTransport(t *testing.T, routes map[string]string) http.RoundTripper {
	rt, err := verifyTransport(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tr := rt.(*http.Transport)
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		to, ok := routes[addr]
		if !ok {
			return nil, fmt.Errorf("test network: no route to %s", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, to)
	}
	return tr
}

// TestVerifyPlainHTTP shows where --verify sends a password over plain
// http: to a loopback host or one marked insecure, when its https port
// speaks plain HTTP; never to another host, and never after a TLS failure.
func TestVerifyPlainHTTP(t *testing.T) {
	plain := &credentialRecorder{}
	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()
	// A TLS server whose certificate nobody trusts: what a machine in the
	// middle presents.
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	plainSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plainAddr := strings.TrimPrefix(plainSrv.URL, "http://")
	tlsAddr := strings.TrimPrefix(tlsSrv.URL, "https://")

	tests := []struct {
		name     string
		host     string
		insecure bool
		routes   map[string]string
		wantErr  string // the error (its start up to "x509: " for a TLS failure); "" verifies
		want     []string
	}{
		{
			name:    "private address, plain registry",
			host:    "10.10.0.1:5000",
			routes:  map[string]string{"10.10.0.1:5000": plainAddr},
			wantErr: `verify: Get "https://10.10.0.1:5000/v2/": http: server gave HTTP response to HTTPS client; a credential goes over plain http only to a loopback host or to one the config marks insecure: true`,
		},
		{
			name:     "private address marked insecure, plain registry",
			host:     "10.10.0.1:5000",
			routes:   map[string]string{"10.10.0.1:5000": plainAddr},
			insecure: true,
			want:     []string{"http GET /v2/ ", "http GET /v2/ ", "http GET /v2/ Basic"},
		},
		{
			name:   "loopback, plain registry",
			host:   "localhost:5000",
			routes: map[string]string{"localhost:5000": plainAddr},
			want:   []string{"http GET /v2/ ", "http GET /v2/ ", "http GET /v2/ Basic"},
		},
		{
			name:    "private address, TLS failure on 443, plain http on 80",
			host:    "192.168.1.10",
			routes:  map[string]string{"192.168.1.10:443": tlsAddr, "192.168.1.10:80": plainAddr},
			wantErr: `verify: Get "https://192.168.1.10/v2/": tls: failed to verify certificate: x509: `,
		},
		{
			name:     "marked insecure, TLS failure on 443, plain http on 80",
			host:     "192.168.1.10",
			insecure: true,
			routes:   map[string]string{"192.168.1.10:443": tlsAddr, "192.168.1.10:80": plainAddr},
			wantErr:  `verify: Get "https://192.168.1.10/v2/": tls: failed to verify certificate: x509: `,
		},
		{
			name:    "loopback, TLS failure on 443, plain http on 80",
			host:    "127.0.0.1",
			routes:  map[string]string{"127.0.0.1:443": tlsAddr, "127.0.0.1:80": plainAddr},
			wantErr: `verify: Get "https://127.0.0.1/v2/": tls: failed to verify certificate: x509: `,
		},
		{
			name:    "public name, plain registry",
			host:    "r.example.com",
			routes:  map[string]string{"r.example.com:443": plainAddr, "r.example.com:80": plainAddr},
			wantErr: `verify: Get "https://r.example.com/v2/": http: server gave HTTP response to HTTPS client; a credential goes over plain http only to a loopback host or to one the config marks insecure: true`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain.mu.Lock()
			plain.requests = nil
			plain.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			h := hostConfig{Host: tt.host, Insecure: tt.insecure}
			a := hostAuth{Username: fakeRegistryUser, Password: fakeRegistryPassword}
			said, err := verifyCredential(ctx, h, a, routedTransport(t, tt.routes))
			// A TLS failure's text depends on the certificate: its start
			// is enough.
			tlsFailure := strings.HasSuffix(tt.wantErr, "x509: ")
			switch {
			case tt.wantErr == "" && (err != nil || said != verifiedText):
				t.Errorf("verify: %q, %v; want %q", said, err, verifiedText)
			case tt.wantErr == "":
			case err == nil,
				tlsFailure && !strings.HasPrefix(err.Error(), tt.wantErr),
				!tlsFailure && err.Error() != tt.wantErr:
				t.Errorf("verify: %q, %v\nwant error: %s", said, err, tt.wantErr)
			}
			if got := plain.seen(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("the plain http registry received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err != nil && strings.Contains(err.Error(), fakeRegistryPassword) {
				t.Error("the error holds the password")
			}
		})
	}
}
