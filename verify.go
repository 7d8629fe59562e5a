//go:build !smallhelper

package main

// login --verify: authenticate each resolved credential against its
// registry before storing it, as docker login does, with
// go-containerregistry's transport: a ping of /v2/ without credentials for
// the challenge, then the challenge's handshake (Basic, or the Bearer token
// exchange with the credential) and one authenticated GET /v2/.

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// What --verify says about a host that passed, on its line and in JSON.
const (
	verifiedText  = "verified"
	anonymousText = "not verifiable: the registry allows anonymous access"
)

// verifyErrorTag starts every --verify error.
const verifyErrorTag = "verify"

// verifyTransport is the HTTP transport --verify uses: the default one,
// trusting the system's roots plus the PEM certificates in $SSL_CERT_FILE.
// Go already reads SSL_CERT_FILE into the system pool on Linux; adding it
// again is harmless there and makes it hold where Go does not read it
// (macOS, Windows).
func verifyTransport(getenv func(string) string) (http.RoundTripper, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if path := getenv("SSL_CERT_FILE"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading SSL_CERT_FILE: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SSL_CERT_FILE %s: no PEM certificate in it", path)
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig.RootCAs = pool
	return t, nil
}

// verifyHosts verifies every resolved credential at once under one
// --timeout deadline and returns, by result index, what each check said or
// its error. Skipped hosts are not checked.
func verifyHosts(results []hostResult, timeout time.Duration, rt http.RoundTripper) ([]string, []error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	said := make([]string, len(results))
	errs := make([]error, len(results))
	var wg sync.WaitGroup
	for i, r := range results {
		if r.skipped {
			continue
		}
		wg.Go(func() {
			said[i], errs[i] = verifyCredential(ctx, r.host, r.auth, rt)
			if errs[i] != nil && ctx.Err() != nil {
				errs[i] = fmt.Errorf("not verified within --timeout %s: %w", formatTimeout(timeout), errs[i])
			}
		})
	}
	wg.Wait()
	return said, errs
}

// verifyCredential authenticates a against h's registry and returns
// verifiedText or anonymousText. The scheme is ours to pick, before any
// credential is sent (pingScheme): go-containerregistry's name rules would
// fall back to plain http for private addresses after any https failure,
// and send the credential there.
func verifyCredential(ctx context.Context, h hostConfig, a hostAuth, rt http.RoundTripper) (string, error) {
	host := strings.ToLower(h.Host)
	reg, err := name.NewRegistry(host)
	if err != nil {
		return "", fmt.Errorf("%s: %w", verifyErrorTag, err)
	}
	// The ping is anonymous, and ours rather than the transport's so that
	// a 200 without credentials is told apart: it proves nothing about
	// the credential.
	scheme, ping, err := pingScheme(ctx, reg.RegistryStr(), plainHTTPAllowed(host, h.Insecure), rt)
	if err != nil {
		return "", verifyError(err, a)
	}
	err = transport.CheckError(ping, http.StatusOK, http.StatusUnauthorized)
	io.Copy(io.Discard, ping.Body)
	ping.Body.Close()
	switch {
	case err != nil:
		return "", verifyError(err, a)
	case ping.StatusCode == http.StatusOK:
		return anonymousText, nil
	}
	if scheme == "http" {
		// The transport pings again, and takes http only for a registry
		// named insecure.
		if reg, err = name.NewInsecureRegistry(host); err != nil {
			return "", fmt.Errorf("%s: %w", verifyErrorTag, err)
		}
	}
	// Every request from here on, the token exchange's included, goes
	// through the guard: http only where pingScheme chose it.
	rt = plainHTTPGuard{inner: rt, host: reg.RegistryStr(), allow: scheme == "http"}
	auth := authn.FromConfig(authn.AuthConfig{Username: a.Username, Password: a.Password, RegistryToken: a.RegistryToken})
	// No scope: the token asked for is the one docker login asks for,
	// enough for GET /v2/, which is what proves the credential.
	authed, err := transport.NewWithContext(ctx, reg, auth, rt, nil)
	if err != nil {
		return "", verifyError(err, a)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", verifyErrorTag, err)
	}
	resp, err := authed.RoundTrip(req)
	if err != nil {
		return "", verifyError(err, a)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return "", verifyError(err, a)
	}
	io.Copy(io.Discard, resp.Body)
	return verifiedText, nil
}

// verifyError is a failed check as the user reads it: the request, the
// registry's status and its message. A message holding the credential (a
// registry or proxy echoing the request) is withheld.
func verifyError(err error, a hostAuth) error {
	msg := err.Error()
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
		// transport.Error starts with the request, query included; the
		// status it leaves out.
		text := terr.Error()
		if req := terr.Request; req != nil {
			_, text, _ = strings.Cut(text, ": ")
			text = fmt.Sprintf("%s %s://%s%s: %d %s: %s", req.Method, req.URL.Scheme, req.URL.Host, req.URL.EscapedPath(), terr.StatusCode, http.StatusText(terr.StatusCode), text)
		}
		msg = "the registry refused the credential: " + text
	}
	for _, secret := range []string{a.Password, a.RegistryToken} {
		if echoesSecret(msg, secret) {
			return fmt.Errorf("%s: failed (the message is withheld because it contains the secret)", verifyErrorTag)
		}
	}
	return fmt.Errorf("%s: %s", verifyErrorTag, msg)
}
