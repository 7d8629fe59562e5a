package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// isolateIdentity gives a test an environment in which every identity
// chain the minting code consults finds nothing, and nothing dials beyond
// 127.0.0.1: an empty HOME, no cloud CLIs on PATH, no ambient credentials,
// and the metadata endpoints pointed at a closed loopback port.
func isolateIdentity(t *testing.T) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PATH", t.TempDir()) // no az, azd, pwsh or gcloud to shell out to
	unset := []string{
		envActionsRequestURL, envActionsRequestToken, envSPIFFESocket,
		"GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GOOGLE_API_GO_EXPERIMENTAL_ENABLE_NEW_AUTH_LIB",
		"GOOGLE_API_USE_CLIENT_CERTIFICATE", "GOOGLE_CLOUD_UNIVERSE_DOMAIN",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CA_BUNDLE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
		"MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT",
		"SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
	}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AZURE_") {
			unset = append(unset, name)
		}
	}
	for _, name := range unset {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("GCE_METADATA_HOST", "127.0.0.1:9")
	t.Setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token")
	t.Setenv("IDENTITY_HEADER", "unused")
}

// unsignedJWT returns a JWT-shaped token carrying claims, the kind of
// value the identity fakes hand out.
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString([]byte(rand.Text()))
}

// recorder collects what a fake records.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) record(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// hangingServer never answers until the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv
}

// checkPromptDeadline runs mint under a 200ms deadline and checks it gives
// up with a deadline error well before the fake would have answered.
func checkPromptDeadline(t *testing.T, mint func(context.Context) (string, time.Time, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := mint(ctx)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("returned after %s, want about 200ms", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) && (err == nil || !strings.Contains(err.Error(), "deadline exceeded")) {
		t.Errorf("err = %v, want a deadline error", err)
	}
}

func TestMintTokenGuards(t *testing.T) {
	isolateIdentity(t)
	for _, tc := range []struct {
		name      string
		provider  string
		audiences []string
		want      string
	}{
		{"unknown provider", "gitlab", []string{"reg.example.com"}, `unknown provider "gitlab"`},
		{"padded provider", " aws", []string{"reg.example.com"}, `unknown provider " aws"`},
		{"no audience", "aws", nil, "no audience"},
		{"gcp with two audiences", "gcp", []string{"a", "b"}, `provider "gcp" accepts at most one audience`},
		{"azure with two audiences", "azure", []string{"a", "b"}, `provider "azure" accepts at most one audience`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := mintToken(context.Background(), tc.provider, tc.audiences, true, time.Now())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMintGitHubToken(t *testing.T) {
	for _, provider := range []string{"github", "forgejo"} {
		t.Run(provider, func(t *testing.T) {
			isolateIdentity(t)
			exp := time.Now().Add(5 * time.Minute).Truncate(time.Second)
			token := unsignedJWT(t, map[string]any{"aud": "reg.example.com", "exp": exp.Unix()})
			var rec recorder
			fake := &actionsOIDCFake{requestToken: "request-" + rand.Text(), token: token, record: rec.record}
			var rawQuery string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rawQuery = r.URL.RawQuery
				fake.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			t.Setenv(envActionsRequestURL, srv.URL+"/idtoken?api-version=2.0")
			t.Setenv(envActionsRequestToken, fake.requestToken)

			got, expiresAt, err := mintToken(context.Background(), provider, []string{"reg.example.com", "sts amazonaws/x"}, true, time.Now())
			checkNoSecrets(t, []string{token, fake.requestToken}, "", nil, fmt.Sprint(err))
			if err != nil {
				t.Fatalf("mintToken: %v", err)
			}
			if got != token {
				t.Error("returned token is not the one the endpoint issued")
			}
			if want := jwtExpiry(token); !expiresAt.Equal(want) {
				t.Errorf("expiresAt = %v, want the token's exp %v", expiresAt, want)
			}
			// The audiences are added to the runtime's own query, one
			// parameter each, and the existing query is kept as written.
			if want := "api-version=2.0&audience=reg.example.com&audience=sts+amazonaws%2Fx"; rawQuery != want {
				t.Errorf("query = %q, want %q", rawQuery, want)
			}
			if lines := rec.get(); len(lines) != 1 || lines[0] != "reg.example.com sts amazonaws/x" {
				t.Errorf("endpoint saw audiences %q", lines)
			}
		})
	}
}

func TestMintGitHubTokenErrors(t *testing.T) {
	token := "token-" + rand.Text()
	requestToken := "request-" + rand.Text()
	long := strings.Repeat("x", 2000)
	for _, tc := range []struct {
		name        string
		noURL       bool
		noToken     bool
		status      int
		body        string
		want        []string
		maxErrorLen int
	}{
		{name: "no request URL", noURL: true, want: []string{envActionsRequestURL, envActionsRequestToken, "id-token: write"}},
		{name: "no request token", noToken: true, want: []string{envActionsRequestURL, envActionsRequestToken, "id-token: write"}},
		{name: "server error", status: 500, body: "  internal\n  failure \n", want: []string{"500 Internal Server Error: internal failure"}},
		{name: "empty error body", status: 403, want: []string{"403 Forbidden: (empty body)"}},
		{name: "long error body", status: 502, body: long, want: []string{"502 Bad Gateway: xxxx", " …"}, maxErrorLen: 600},
		{name: "malformed JSON", status: 200, body: `{"value": ` + token, want: []string{"decode OIDC token response"}},
		{name: "value not a string", status: 200, body: `{"value": 42}`, want: []string{"decode OIDC token response"}},
		{name: "empty value", status: 200, body: `{"value": ""}`, want: []string{`the OIDC token response has no "value"`}},
		{name: "no value", status: 200, body: `{"token": "` + token + `"}`, want: []string{`has no "value"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateIdentity(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			if !tc.noURL {
				t.Setenv(envActionsRequestURL, srv.URL+"/idtoken")
			}
			if !tc.noToken {
				t.Setenv(envActionsRequestToken, requestToken)
			}
			_, _, err := mintGitHubToken(context.Background(), []string{"reg.example.com"})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
			if tc.maxErrorLen > 0 && len(err.Error()) > tc.maxErrorLen {
				t.Errorf("error is %d bytes long, want at most %d", len(err.Error()), tc.maxErrorLen)
			}
			checkNoSecrets(t, []string{token, requestToken}, "", nil, fmt.Sprint(err))
		})
	}
}

func TestMintGitHubTokenDeadline(t *testing.T) {
	isolateIdentity(t)
	srv := hangingServer(t)
	t.Setenv(envActionsRequestURL, srv.URL+"/idtoken")
	t.Setenv(envActionsRequestToken, "request-"+rand.Text())
	checkPromptDeadline(t, func(ctx context.Context) (string, time.Time, error) {
		return mintGitHubToken(ctx, []string{"reg.example.com"})
	})
}

func TestMintAzureToken(t *testing.T) {
	isolateIdentity(t)
	// The managed identity client caches tokens for the whole process, so
	// every test asks for an audience of its own.
	aud := "api://flux-mirror-registry-" + rand.Text()
	token := unsignedJWT(t, map[string]any{"aud": aud})
	var rec recorder
	fake := &azureMSIFake{identityHeader: "header-" + rand.Text(), token: token, lifetime: time.Hour, record: rec.record}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", fake.identityHeader)

	got, expiresAt, err := mintToken(context.Background(), "azure", []string{aud}, true, time.Now())
	checkNoSecrets(t, []string{token, fake.identityHeader}, "", nil, fmt.Sprint(err))
	if err != nil {
		t.Fatalf("mintToken: %v", err)
	}
	if got != token {
		t.Error("returned token is not the one the managed identity endpoint issued")
	}
	if d := time.Until(expiresAt); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expires in %s, want about 1h (the endpoint's expires_on)", d)
	}
	// The scope is "<aud>/.default"; a managed identity endpoint takes it
	// as a resource, without the suffix.
	if lines := rec.get(); len(lines) != 1 || lines[0] != aud {
		t.Errorf("endpoint saw resources %q", lines)
	}
}

func TestMintAzureTokenErrors(t *testing.T) {
	t.Run("endpoint refuses", func(t *testing.T) {
		isolateIdentity(t)
		header := "header-" + rand.Text()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":"invalid_request","error_description":"identity not found"}`, http.StatusBadRequest)
		}))
		t.Cleanup(srv.Close)
		t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
		t.Setenv("IDENTITY_HEADER", header)
		aud := "api://reg-" + rand.Text()
		_, _, err := mintAzureToken(context.Background(), []string{aud})
		if err == nil || !strings.Contains(err.Error(), `get Entra token for scope "`+aud+`/.default"`) || !strings.Contains(err.Error(), "identity not found") {
			t.Errorf("err = %v, want the scope and the endpoint's answer", err)
		}
		checkNoSecrets(t, []string{header}, "", nil, fmt.Sprint(err))
	})
	t.Run("endpoint hangs", func(t *testing.T) {
		isolateIdentity(t)
		srv := hangingServer(t)
		t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
		checkPromptDeadline(t, func(ctx context.Context) (string, time.Time, error) {
			return mintAzureToken(ctx, []string{"api://reg-" + rand.Text()})
		})
	})
}

func TestMintJWTSVID(t *testing.T) {
	isolateIdentity(t)
	const spiffeID = "spiffe://example.org/ci/builder"
	fake, err := newWorkloadAPIFake(spiffeID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	fake.record = rec.record
	addr, stop, err := fake.serve(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	t.Setenv(envSPIFFESocket, addr)

	got, expiresAt, err := mintToken(context.Background(), "jwt-svid", []string{"reg.example.com", "mirror.example.com"}, true, time.Now())
	checkNoSecrets(t, []string{fake.lastSVID()}, "", nil, fmt.Sprint(err))
	if err != nil {
		t.Fatalf("mintToken: %v", err)
	}
	if got != fake.lastSVID() {
		t.Error("returned token is not the JWT-SVID the Workload API issued")
	}
	if lines := rec.get(); len(lines) != 1 || lines[0] != "reg.example.com mirror.example.com" {
		t.Errorf("Workload API saw audiences %q", lines)
	}
	// The token is the agent's signed JWT, untouched.
	parsed, err := jwt.ParseSigned(got, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.Claims
	if err := parsed.Claims(&fake.key.PublicKey, &claims); err != nil {
		t.Fatalf("signature does not verify with the agent's key: %v", err)
	}
	if claims.Subject != spiffeID || !claims.Audience.Contains("reg.example.com") || !claims.Audience.Contains("mirror.example.com") {
		t.Errorf("claims sub=%q aud=%q", claims.Subject, claims.Audience)
	}
	if !expiresAt.Equal(claims.Expiry.Time()) {
		t.Errorf("expiresAt = %v, want exp %v", expiresAt, claims.Expiry.Time())
	}
}

func TestMintJWTSVIDErrors(t *testing.T) {
	t.Run("no socket", func(t *testing.T) {
		isolateIdentity(t)
		_, _, err := mintJWTSVID(context.Background(), []string{"reg.example.com"})
		if err == nil || !strings.Contains(err.Error(), envSPIFFESocket+" must be set") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("agent hangs", func(t *testing.T) {
		isolateIdentity(t)
		fake, err := newWorkloadAPIFake("spiffe://example.org/w", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		fake.delay = time.Minute
		addr, stop, err := fake.serve(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		t.Setenv(envSPIFFESocket, addr)
		checkPromptDeadline(t, func(ctx context.Context) (string, time.Time, error) {
			return mintJWTSVID(ctx, []string{"reg.example.com"})
		})
	})
	t.Run("no agent", func(t *testing.T) {
		isolateIdentity(t)
		t.Setenv(envSPIFFESocket, "unix://"+filepath.Join(t.TempDir(), "missing.sock"))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _, err := mintJWTSVID(ctx, []string{"reg.example.com"})
		if err == nil || !strings.Contains(err.Error(), "fetch JWT-SVID from unix://") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestErrorBody(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty", "", "(empty body)"},
		{"blank", " \n\t", "(empty body)"},
		{"trimmed", "\n  not found \n", "not found"},
		{"lines joined", "line one\r\nline two\n", "line one line two"},
		{"invalid UTF-8", "bad \xff byte", "bad \uFFFD byte"},
		{"exactly the cap", strings.Repeat("a", maxErrorBodyBytes), strings.Repeat("a", maxErrorBodyBytes)},
		{"over the cap", strings.Repeat("a", maxErrorBodyBytes+10), strings.Repeat("a", maxErrorBodyBytes) + " …"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorBody(strings.NewReader(tc.body)); got != tc.want {
				t.Errorf("errorBody = %q, want %q", got, tc.want)
			}
		})
	}
}
