package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// This file holds fakes of the identity endpoints that mint tokens, served
// on 127.0.0.1 or a unix socket. Go tests start them with httptest; scripts
// start them with the commands in identityFakeCmds. Each fake answers only
// the request shape the real endpoint documents and refuses anything else,
// so a test that passes shows the request was right.

// identityFakeCmds are script commands that start fake identity endpoints
// for the rest of the script and export their addresses into its
// environment. Each takes an optional -delay DURATION, the time the fake
// waits before answering (to show that hosts are minted concurrently), and
// appends one line per answered request to $WORK/<command>.log: the
// audiences it was asked for, space-separated.
//
//	fake-actions-oidc [-delay D] TOKEN
//	    GitHub/Forgejo Actions ID token endpoint answering {"value": TOKEN};
//	    sets ACTIONS_ID_TOKEN_REQUEST_URL (with an api-version query) and
//	    ACTIONS_ID_TOKEN_REQUEST_TOKEN.
//	fake-azure-msi [-delay D] TOKEN
//	    App Service managed identity endpoint answering TOKEN, valid 1h;
//	    sets IDENTITY_ENDPOINT and IDENTITY_HEADER.
//	fake-gce-metadata [-delay D] IDTOKEN
//	    GCE metadata server answering IDTOKEN for identity requests;
//	    sets GCE_METADATA_HOST.
//	fake-spiffe [-delay D] SPIFFEID
//	    SPIFFE Workload API answering JWT-SVIDs for SPIFFEID, signed ES256,
//	    valid 1h; sets SPIFFE_ENDPOINT_SOCKET.
var identityFakeCmds = map[string]scriptCmd{
	"fake-actions-oidc": func(ts *testscript.TestScript, neg bool, args []string) {
		delay, token := fakeArgs(ts, neg, "fake-actions-oidc", args)
		f := &actionsOIDCFake{requestToken: "request-token-" + rand.Text(), token: token, delay: delay, record: scriptLog(ts, "fake-actions-oidc")}
		srv := httptest.NewServer(f)
		ts.Defer(srv.Close)
		ts.Setenv(envActionsRequestURL, srv.URL+"/idtoken?api-version=2.0")
		ts.Setenv(envActionsRequestToken, f.requestToken)
	},
	"fake-azure-msi": func(ts *testscript.TestScript, neg bool, args []string) {
		delay, token := fakeArgs(ts, neg, "fake-azure-msi", args)
		f := &azureMSIFake{identityHeader: "identity-header-" + rand.Text(), token: token, lifetime: time.Hour, delay: delay, record: scriptLog(ts, "fake-azure-msi")}
		srv := httptest.NewServer(f)
		ts.Defer(srv.Close)
		ts.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
		ts.Setenv("IDENTITY_HEADER", f.identityHeader)
	},
	"fake-gce-metadata": func(ts *testscript.TestScript, neg bool, args []string) {
		delay, idToken := fakeArgs(ts, neg, "fake-gce-metadata", args)
		f := &gceMetadataFake{idToken: idToken, delay: delay, record: scriptLog(ts, "fake-gce-metadata")}
		srv := httptest.NewServer(f)
		ts.Defer(srv.Close)
		ts.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	},
	"fake-spiffe": func(ts *testscript.TestScript, neg bool, args []string) {
		delay, spiffeID := fakeArgs(ts, neg, "fake-spiffe", args)
		f, err := newWorkloadAPIFake(spiffeID, time.Hour)
		ts.Check(err)
		f.delay = delay
		f.record = scriptLog(ts, "fake-spiffe")
		addr, stop, err := f.serve(ts.MkAbs("spiffe"))
		ts.Check(err)
		ts.Defer(stop)
		ts.Setenv(envSPIFFESocket, addr)
	},
}

// fakeArgs parses "[-delay D] VALUE" for the fake named cmd.
func fakeArgs(ts *testscript.TestScript, neg bool, cmd string, args []string) (time.Duration, string) {
	if neg {
		ts.Fatalf("%s does not support negation", cmd)
	}
	var delay time.Duration
	if len(args) > 0 && args[0] == "-delay" {
		if len(args) < 2 {
			ts.Fatalf("usage: %s [-delay DURATION] VALUE", cmd)
		}
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		delay, args = d, args[2:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: %s [-delay DURATION] VALUE", cmd)
	}
	return delay, args[0]
}

// scriptLog returns a recorder appending lines to $WORK/<name>.log.
func scriptLog(ts *testscript.TestScript, name string) func(string) {
	path := ts.MkAbs(name + ".log")
	var mu sync.Mutex
	return func(line string) {
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return
		}
		defer f.Close()
		fmt.Fprintln(f, line)
	}
}

// wait sleeps for delay unless ctx ends first, and reports whether it slept.
func wait(ctx context.Context, delay time.Duration) bool {
	if delay == 0 {
		return true
	}
	select {
	case <-time.After(delay):
		return true
	case <-ctx.Done():
		return false
	}
}

// actionsOIDCFake is the Actions runtime's ID token endpoint: GET with
// audience parameters and "Authorization: bearer <request token>", answered
// with {"value": "<jwt>"}.
type actionsOIDCFake struct {
	requestToken string
	token        string
	delay        time.Duration
	record       func(string) // the request's audiences; nil records nothing
}

func (f *actionsOIDCFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "bearer "+f.requestToken {
		http.Error(w, "bad request token", http.StatusUnauthorized)
		return
	}
	audiences := r.URL.Query()["audience"]
	if len(audiences) == 0 {
		http.Error(w, "no audience", http.StatusBadRequest)
		return
	}
	if !wait(r.Context(), f.delay) {
		return
	}
	if f.record != nil {
		f.record(strings.Join(audiences, " "))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"value": f.token})
}

// azureMSIFake is the App Service managed identity endpoint (api-version
// 2019-08-01): GET ?api-version=2019-08-01&resource=<scope without
// /.default> with X-IDENTITY-HEADER, answered with an access token whose
// expires_on is epoch seconds as a string.
type azureMSIFake struct {
	identityHeader string
	token          string
	lifetime       time.Duration
	delay          time.Duration
	record         func(string) // the resource asked for
}

func (f *azureMSIFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method != http.MethodGet || q.Get("api-version") != "2019-08-01" || q.Get("resource") == "" {
		http.Error(w, "unexpected request "+r.Method+" "+r.URL.String(), http.StatusBadRequest)
		return
	}
	if r.Header.Get("X-Identity-Header") != f.identityHeader {
		http.Error(w, "bad identity header", http.StatusUnauthorized)
		return
	}
	if !wait(r.Context(), f.delay) {
		return
	}
	if f.record != nil {
		f.record(q.Get("resource"))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"access_token": f.token,
		"expires_on":   strconv.FormatInt(time.Now().Add(f.lifetime).Unix(), 10),
		"resource":     q.Get("resource"),
		"token_type":   "Bearer",
	})
}

// gceMetadataFake is the GCE metadata server's identity document endpoint:
// GET /computeMetadata/v1/instance/service-accounts/default/identity
// ?audience=<aud>&format=full with "Metadata-Flavor: Google", answered with
// the raw JWT.
type gceMetadataFake struct {
	idToken string
	delay   time.Duration
	record  func(string) // the audience asked for
}

func (f *gceMetadataFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Metadata-Flavor", "Google")
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "missing Metadata-Flavor header", http.StatusForbidden)
		return
	}
	switch r.URL.Path {
	case "/computeMetadata/v1/project/project-id":
		fmt.Fprint(w, "my-project")
	case "/computeMetadata/v1/instance/service-accounts/default/identity":
		aud := r.URL.Query().Get("audience")
		if aud == "" || r.URL.Query().Get("format") != "full" {
			http.Error(w, "bad identity request", http.StatusBadRequest)
			return
		}
		if !wait(r.Context(), f.delay) {
			return
		}
		if f.record != nil {
			f.record(aud)
		}
		fmt.Fprint(w, f.idToken)
	default:
		http.NotFound(w, r)
	}
}

// workloadAPIFake is a SPIFFE Workload API serving FetchJWTSVID over gRPC
// on a unix socket, with JWT-SVIDs really signed (ES256) for its SPIFFE ID.
type workloadAPIFake struct {
	workload.UnimplementedSpiffeWorkloadAPIServer
	spiffeID string
	key      *ecdsa.PrivateKey
	lifetime time.Duration
	delay    time.Duration
	record   func(string) // the audiences asked for
	// last is the last JWT-SVID issued.
	mu   sync.Mutex
	last string
}

func newWorkloadAPIFake(spiffeID string, lifetime time.Duration) (*workloadAPIFake, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &workloadAPIFake{spiffeID: spiffeID, key: key, lifetime: lifetime}, nil
}

// serve listens on a socket in dir and returns its Workload API address.
func (f *workloadAPIFake) serve(dir string) (addr string, stop func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	socket := filepath.Join(dir, "agent.sock")
	lis, err := net.Listen("unix", socket)
	if err != nil {
		return "", nil, err
	}
	srv := grpc.NewServer()
	workload.RegisterSpiffeWorkloadAPIServer(srv, f)
	go srv.Serve(lis)
	return "unix://" + socket, srv.Stop, nil
}

func (f *workloadAPIFake) FetchJWTSVID(ctx context.Context, req *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
	// The Workload API requires this metadata on every call, as a guard
	// against server-side request forgery (SPIFFE Workload API §5.1).
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("workload.spiffe.io"); len(v) != 1 || v[0] != "true" {
		return nil, status.Error(codes.InvalidArgument, "security header missing from request")
	}
	if len(req.Audience) == 0 {
		return nil, status.Error(codes.InvalidArgument, "audience must be specified")
	}
	if !wait(ctx, f.delay) {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if f.record != nil {
		f.record(strings.Join(req.Audience, " "))
	}
	svid, err := f.sign(req.Audience, time.Now())
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	f.mu.Lock()
	f.last = svid
	f.mu.Unlock()
	return &workload.JWTSVIDResponse{Svids: []*workload.JWTSVID{{SpiffeId: f.spiffeID, Svid: svid}}}, nil
}

// sign issues a JWT-SVID as SPIRE does: sub is the SPIFFE ID, aud the
// audiences, exp and iat set, ES256 with a kid.
func (f *workloadAPIFake) sign(audiences []string, now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: f.key, KeyID: "fake-spiffe"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(jwt.Claims{
		Subject:  f.spiffeID,
		Audience: jwt.Audience(audiences),
		Expiry:   jwt.NewNumericDate(now.Add(f.lifetime)),
		IssuedAt: jwt.NewNumericDate(now),
	}).Serialize()
}

func (f *workloadAPIFake) lastSVID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// googleTokenFake is Google's OAuth 2.0 token endpoint, reached through a
// credentials file's token_uri. It answers two grants (RFC 7523 and RFC
// 6749 §6):
//   - a service account's jwt-bearer assertion, RS256-signed by saKey, whose
//     target_audience claim asks for an ID token: {"id_token": idToken};
//   - an authorized_user's refresh_token grant: an access token and, as
//     Google does when the openid scope was granted, {"id_token": idToken}.
type googleTokenFake struct {
	saKey        *rsa.PublicKey
	refreshToken string
	idToken      string
	record       func(string) // target_audience, or "refresh_token"
}

func (f *googleTokenFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		http.Error(w, "want a POSTed form", http.StatusBadRequest)
		return
	}
	tokenURI := "http://" + r.Host + r.URL.Path
	w.Header().Set("Content-Type", "application/json")
	switch r.PostForm.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		assertion, err := jwt.ParseSigned(r.PostForm.Get("assertion"), []jose.SignatureAlgorithm{jose.RS256})
		var claims struct {
			jwt.Claims
			TargetAudience string `json:"target_audience"`
		}
		if err == nil {
			err = assertion.Claims(f.saKey, &claims)
		}
		if err == nil {
			err = claims.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{tokenURI}, Time: time.Now()}, time.Minute)
		}
		if err != nil || claims.TargetAudience == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		if f.record != nil {
			f.record(claims.TargetAudience)
		}
		json.NewEncoder(w).Encode(map[string]string{"id_token": f.idToken})
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != f.refreshToken {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		if f.record != nil {
			f.record("refresh_token")
		}
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": "ya29.fake-access-token",
			"expires_in":   3599,
			"token_type":   "Bearer",
			"id_token":     f.idToken,
		})
	default:
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
	}
}
