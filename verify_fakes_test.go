package main

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// verifyFakeCmds are script commands that start fake registries for
// login --verify.
var verifyFakeCmds = map[string]scriptCmd{
	"registryfake": cmdRegistryFake,
}

// The one account the fake registry knows, and the token its token
// endpoint issues for it.
const (
	fakeRegistryUser     = "robot"
	fakeRegistryPassword = "registry-s3cr3t"
	fakeRegistryToken    = "fake-registry-bearer-token"
)

// cmdRegistryFake starts a fake registry for the rest of the script and
// sets $REGISTRY to its host:port on 127.0.0.1. Its /v2/ wants Basic auth
// (basic), a bearer token from its /token endpoint, which takes Basic auth
// (bearer), or nothing (anonymous); or it never answers (hang). With tls
// it serves https only, with a certificate whose PEM it writes to
// $WORK/registry-ca.pem. Each request is logged to $WORK/registry.log as
// "METHOD PATH AUTH-SCHEME".
//
//	registryfake basic|bearer|anonymous|hang [tls]
func cmdRegistryFake(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 || len(args) == 2 && args[1] != "tls" {
		ts.Fatalf("usage: registryfake basic|bearer|anonymous|hang [tls]")
	}
	mode := args[0]
	logPath := ts.MkAbs("registry.log")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintf(f, "%s %s %s\n", r.Method, r.URL.Path, scheme)
			f.Close()
		}
		basicOK := r.Header.Get("Authorization") == "Basic "+base64.StdEncoding.EncodeToString([]byte(fakeRegistryUser+":"+fakeRegistryPassword))
		refuse := func(challenge string) {
			if challenge != "" {
				w.Header().Set("WWW-Authenticate", challenge)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		}
		switch {
		case mode == "hang":
			<-r.Context().Done()
		case mode == "anonymous" && r.URL.Path == "/v2/":
			fmt.Fprintln(w, "{}")
		case mode == "basic" && r.URL.Path == "/v2/":
			if !basicOK {
				refuse(`Basic realm="fake"`)
				return
			}
			fmt.Fprintln(w, "{}")
		case mode == "bearer" && r.URL.Path == "/v2/":
			if r.Header.Get("Authorization") != "Bearer "+fakeRegistryToken {
				scheme := "http"
				if r.TLS != nil {
					scheme = "https"
				}
				refuse(fmt.Sprintf(`Bearer realm="%s://%s/token",service="fake"`, scheme, r.Host))
				return
			}
			fmt.Fprintln(w, "{}")
		case mode == "bearer" && r.URL.Path == "/token":
			if !basicOK {
				refuse("")
				return
			}
			fmt.Fprintf(w, `{"token":%q}`+"\n", fakeRegistryToken)
		default:
			http.NotFound(w, r)
		}
	}))
	// A client that does not trust the certificate is the point of a test.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if len(args) == 2 {
		srv.StartTLS()
		cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		ts.Check(os.WriteFile(ts.MkAbs("registry-ca.pem"), cert, 0o644))
	} else {
		srv.Start()
	}
	ts.Defer(srv.Close)
	ts.Setenv("REGISTRY", strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://"))
}
