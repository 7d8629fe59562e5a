package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/rogpeppe/go-internal/testscript"
)

// cloudFakeCmds are script commands that start fake cloud registries.
var cloudFakeCmds = map[string]scriptCmd{
	"cloudfake":   cmdCloudFake,
	"cloudgolden": cmdCloudGolden,
}

// cmdCloudFake starts the fake cloud of startCloudFake for the rest of the
// script and exports its environment.
//
//	cloudfake [ok|fail|hang]
func cmdCloudFake(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: cloudfake [ok|fail|hang]")
	}
	mode := "ok"
	if len(args) == 1 {
		mode = args[0]
	}
	fake, err := startCloudFake(ts.MkAbs("cloud"), mode)
	if err != nil {
		ts.Fatalf("cloudfake: %v", err)
	}
	ts.Defer(fake.close)
	for _, kv := range fake.env {
		k, v, _ := strings.Cut(kv, "=")
		ts.Setenv(k, v)
	}
}

// Fake identities and the secrets the fake cloud issues for them. A test
// checks that none of them reaches stdout, stderr or an error.
const (
	fakeAWSKeyID        = "AKIDCLOUDFAKE"
	fakeAWSSecretKey    = "aws-secret-key-cloud-fake"
	fakeECRPassword     = "ecr-password-cloud-fake"
	fakeIdentityHeader  = "identity-header-cloud-fake"
	fakeEntraToken      = "entra-access-token-cloud-fake"
	fakeGoogleToken     = "ya29.gar-access-token-cloud-fake"
	fakeACRUsername     = "00000000-0000-0000-0000-000000000000"
	fakeECRLifetime     = 12 * time.Hour
	fakeACRLifetime     = 3 * time.Hour
	fakeGoogleExpiresIn = 3600
)

// fakeTLSHosts are the cloud endpoints the fake's certificate covers and
// its CONNECT proxy forwards; any other target is refused.
var fakeTLSHosts = []string{
	"api.ecr.eu-west-1.amazonaws.com",
	"api.ecr.ap-southeast-2.amazonaws.com",
	"api.ecr-public.us-east-1.amazonaws.com",
	"myregistry.azurecr.io",
}

// cloudFake is a loopback stand-in for ECR, ECR Public, ACR, an App Service
// managed identity endpoint and Google's OAuth token endpoint, reached the
// way production reaches the real ones:
//
//   - HTTPS_PROXY names a CONNECT proxy on 127.0.0.1 that forwards every
//     fakeTLSHosts target to one TLS server, whose certificate a throw-away
//     CA signs; SSL_CERT_FILE names that CA (SSL_CERT_DIR an empty folder,
//     so no system root is trusted).
//   - IDENTITY_ENDPOINT and GOOGLE_APPLICATION_CREDENTIALS point at a plain
//     http server on 127.0.0.1, which the proxy rules skip.
//
// Every request is checked (a wrong one gets a 400 that says why) and
// logged to requests.log, one line per request, for the script to read.
type cloudFake struct {
	mode     string // ok, fail (answer 500) or hang (never answer)
	dir      string
	env      []string
	acrToken string // the ACR refresh token, a JWT expiring fakeACRLifetime after the start

	tlsServer *httptest.Server
	proxy     *httptest.Server
	identity  *httptest.Server
	googleKey *rsa.PrivateKey
	stop      chan struct{}
	mu        sync.Mutex
	logLines  []string
}

// startCloudFake starts the fake with its files in dir and returns it; env
// holds the variables a flux-mirror process needs to use it, and the
// secrets it issues for scripts to declare: ECR_PASSWORD,
// ENTRA_ACCESS_TOKEN, ACR_REFRESH_TOKEN, GAR_ACCESS_TOKEN, and the
// config.json auth values a login stores, <NAME>_DOCKER_AUTH.
func startCloudFake(dir, mode string) (*cloudFake, error) {
	if mode != "ok" && mode != "fail" && mode != "hang" {
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	f := &cloudFake{mode: mode, dir: dir, stop: make(chan struct{})}
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o755); err != nil {
		return nil, err
	}
	caPEM, leaf, err := newFakeCA(fakeTLSHosts)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), caPEM, 0o644); err != nil {
		return nil, err
	}
	if f.acrToken, err = fakeACRRefreshToken(time.Now().Add(fakeACRLifetime)); err != nil {
		return nil, err
	}
	if f.googleKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}

	f.tlsServer = httptest.NewUnstartedServer(http.HandlerFunc(f.serveTLS))
	f.tlsServer.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	// A client refusing the certificate is a result some tests want, not
	// noise for the test log.
	f.tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.tlsServer.StartTLS()
	f.proxy = httptest.NewServer(http.HandlerFunc(f.serveConnect))
	f.identity = httptest.NewServer(http.HandlerFunc(f.serveIdentity))

	saPath := filepath.Join(dir, "gcp-service-account.json")
	if err := f.writeServiceAccount(saPath); err != nil {
		f.close()
		return nil, err
	}
	f.env = []string{
		"HTTPS_PROXY=" + f.proxy.URL,
		"SSL_CERT_FILE=" + filepath.Join(dir, "ca.pem"),
		"SSL_CERT_DIR=" + filepath.Join(dir, "empty"),
		"AWS_ACCESS_KEY_ID=" + fakeAWSKeyID,
		"AWS_SECRET_ACCESS_KEY=" + fakeAWSSecretKey,
		"IDENTITY_ENDPOINT=" + f.identity.URL + "/msi/token",
		"IDENTITY_HEADER=" + fakeIdentityHeader,
		"ENTRA_ACCESS_TOKEN=" + fakeEntraToken,
		"GOOGLE_APPLICATION_CREDENTIALS=" + saPath,
		"ECR_PASSWORD=" + fakeECRPassword,
		"ECR_DOCKER_AUTH=" + dockerAuth("AWS", fakeECRPassword),
		"ACR_REFRESH_TOKEN=" + f.acrToken,
		"ACR_DOCKER_AUTH=" + dockerAuth(fakeACRUsername, f.acrToken),
		"GAR_ACCESS_TOKEN=" + fakeGoogleToken,
		"GAR_DOCKER_AUTH=" + dockerAuth("oauth2accesstoken", fakeGoogleToken),
	}
	return f, nil
}

func (f *cloudFake) close() {
	close(f.stop)
	f.proxy.Close()
	f.identity.Close()
	f.tlsServer.Close()
}

func dockerAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// log records one request and writes the whole log to requests.log.
func (f *cloudFake) log(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logLines = append(f.logLines, fmt.Sprintf(format, args...))
	// The fake has no error path to report to; a script that reads the log
	// fails on a missing line instead.
	_ = os.WriteFile(filepath.Join(f.dir, "requests.log"), []byte(strings.Join(f.logLines, "\n")+"\n"), 0o644)
}

// serveConnect is the proxy: CONNECT to a fakeTLSHosts host on port 443 is
// piped to the TLS server; anything else is refused, so a request aimed at
// a host the test did not plan for fails instead of leaving the machine.
func (f *cloudFake) serveConnect(w http.ResponseWriter, r *http.Request) {
	host, port, err := net.SplitHostPort(r.Host)
	if r.Method != http.MethodConnect || err != nil || port != "443" || !slices.Contains(fakeTLSHosts, host) {
		f.log("proxy refused %s %s", r.Method, r.Host)
		http.Error(w, "fake proxy: not a planned CONNECT target", http.StatusForbidden)
		return
	}
	f.log("proxy CONNECT %s", r.Host)
	upstream, err := net.Dial("tcp", f.tlsServer.Listener.Addr().String())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
		conn.Close()
		upstream.Close()
		return
	}
	go func() {
		io.Copy(upstream, rw) // the buffered reader may hold the start of the TLS handshake
		upstream.Close()
	}()
	go func() {
		io.Copy(conn, upstream)
		conn.Close()
	}()
}

// answer applies the fake's mode to a cloud call: it reports whether the
// handler should go on and answer normally.
func (f *cloudFake) answer(w http.ResponseWriter, r *http.Request) bool {
	switch f.mode {
	case "fail":
		http.Error(w, `{"message":"fake cloud: internal error"}`, http.StatusInternalServerError)
		return false
	case "hang":
		select {
		case <-r.Context().Done():
		case <-f.stop:
		}
		return false
	}
	return true
}

// ecrScope matches a SigV4 Authorization header (AWS Signature Version 4,
// "Authorization header" in the IAM user guide) and captures the access
// key, region and service of its credential scope.
var ecrScope = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$`)

func (f *cloudFake) serveTLS(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.Host, "api.ecr-public."):
		f.serveECR(w, r, "ecr-public", "SpencerFrontendService.GetAuthorizationToken")
	case strings.HasPrefix(r.Host, "api.ecr."):
		f.serveECR(w, r, "ecr", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken")
	case strings.HasSuffix(r.Host, ".azurecr.io"):
		f.serveACR(w, r)
	default:
		f.log("tls unexpected %s %s%s", r.Method, r.Host, r.URL)
		http.Error(w, "fake cloud: unexpected host", http.StatusNotFound)
	}
}

// serveECR answers GetAuthorizationToken (ECR API reference; awsJson1_1
// protocol) for the region the host names, after checking that the request
// was signed for that region and service with the fake's access key.
func (f *cloudFake) serveECR(w http.ResponseWriter, r *http.Request, service, target string) {
	region := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(r.Host, "api.ecr-public."), "api.ecr."), ".amazonaws.com")
	body, _ := io.ReadAll(r.Body)
	m := ecrScope.FindStringSubmatch(r.Header.Get("Authorization"))
	var problem string
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		problem = "want POST /"
	case r.Header.Get("X-Amz-Target") != target:
		problem = "want X-Amz-Target " + target
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		problem = "want Content-Type application/x-amz-json-1.1"
	case m == nil:
		problem = "want a SigV4 Authorization header"
	case m[1] != fakeAWSKeyID || m[2] != region || m[3] != service:
		problem = fmt.Sprintf("credential scope %s/%s/%s, want %s/%s/%s", m[1], m[2], m[3], fakeAWSKeyID, region, service)
	case strings.TrimSpace(string(body)) != "{}":
		problem = "want body {}"
	}
	if problem != "" {
		f.log("%s refused: %s", service, problem)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidParameterException", "message": "fake " + service + ": " + problem})
		return
	}
	f.log("%s GetAuthorizationToken host=%s target=%s scope=%s/%s", service, r.Host, target, m[2], m[3])
	if !f.answer(w, r) {
		return
	}
	data := map[string]any{
		"authorizationToken": dockerAuth("AWS", fakeECRPassword),
		"expiresAt":          time.Now().Add(fakeECRLifetime).Unix(),
	}
	var resp any = map[string]any{"authorizationData": []any{data}}
	if service == "ecr-public" {
		resp = map[string]any{"authorizationData": data}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(resp)
}

// serveACR answers the ACR token exchange (ACR "AAD OAuth2 exchange",
// POST /oauth2/exchange) of the fake Entra token for the refresh token.
func (f *cloudFake) serveACR(w http.ResponseWriter, r *http.Request) {
	var problem string
	if err := r.ParseForm(); err != nil {
		problem = err.Error()
	}
	switch {
	case problem != "":
	case r.Method != http.MethodPost || r.URL.Path != "/oauth2/exchange":
		problem = "want POST /oauth2/exchange"
	case r.PostForm.Get("grant_type") != "access_token":
		problem = "want grant_type=access_token"
	case r.PostForm.Get("service") != r.Host:
		problem = "want service=" + r.Host
	case r.PostForm.Get("access_token") != fakeEntraToken:
		problem = "want the access token the managed identity issued"
	}
	if problem != "" {
		f.log("acr refused: %s", problem)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"fake acr: `+problem+`"}]}`, http.StatusBadRequest)
		return
	}
	f.log("acr exchange host=%s service=%s grant_type=%s", r.Host, r.PostForm.Get("service"), r.PostForm.Get("grant_type"))
	if !f.answer(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"refresh_token": f.acrToken})
}

// serveIdentity is the plain-http loopback server of the App Service
// managed identity endpoint (api-version 2019-08-01) and of the token_uri
// of the fake Google service account.
func (f *cloudFake) serveIdentity(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/msi/token":
		f.serveManagedIdentity(w, r)
	case "/google/token":
		f.serveGoogleToken(w, r)
	default:
		f.log("identity unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func (f *cloudFake) serveManagedIdentity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	resource := q.Get("resource")
	if r.Header.Get("X-Identity-Header") != fakeIdentityHeader || q.Get("api-version") != "2019-08-01" {
		f.log("msi refused: want X-Identity-Header and api-version=2019-08-01")
		http.Error(w, `{"error":"fake msi: bad request"}`, http.StatusBadRequest)
		return
	}
	f.log("msi token resource=%s", resource)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"access_token": fakeEntraToken,
		"expires_on":   fmt.Sprint(time.Now().Add(time.Hour).Unix()),
		"resource":     resource,
		"token_type":   "Bearer",
	})
}

// serveGoogleToken is the OAuth 2.0 token endpoint for a service-account
// JWT bearer grant (RFC 7523): the assertion must verify with the account's
// public key and be for this token_uri.
func (f *cloudFake) serveGoogleToken(w http.ResponseWriter, r *http.Request) {
	var problem string
	var claims struct {
		josejwt.Claims
		Scope string `json:"scope"`
	}
	if err := r.ParseForm(); err != nil {
		problem = err.Error()
	} else if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		problem = "want grant_type jwt-bearer"
	} else if tok, err := josejwt.ParseSigned(r.PostForm.Get("assertion"), []jose.SignatureAlgorithm{jose.RS256}); err != nil {
		problem = "assertion: " + err.Error()
	} else if err := tok.Claims(&f.googleKey.PublicKey, &claims); err != nil {
		problem = "assertion: " + err.Error()
	} else if !slices.Contains(claims.Audience, "http://"+r.Host+r.URL.Path) {
		problem = "assertion: want aud the token_uri"
	}
	if problem != "" {
		f.log("google refused: %s", problem)
		http.Error(w, `{"error":"invalid_grant","error_description":"fake google: `+problem+`"}`, http.StatusBadRequest)
		return
	}
	f.log("google token scope=%s", claims.Scope)
	if !f.answer(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": fakeGoogleToken,
		"expires_in":   fakeGoogleExpiresIn,
		"token_type":   "Bearer",
	})
}

// writeServiceAccount writes a Google service-account key file whose
// token_uri is the fake's.
func (f *cloudFake) writeServiceAccount(path string) error {
	der, err := x509.MarshalPKCS8PrivateKey(f.googleKey)
	if err != nil {
		return err
	}
	sa, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "my-proj",
		"private_key_id": "fake-key-1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "flux@my-proj.iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      f.identity.URL + "/google/token",
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, sa, 0o600)
}
