package main

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestHelperKey(t *testing.T) {
	tests := []struct{ serverURL, want string }{
		{"reg.example.com", "reg.example.com"},
		{"https://reg.example.com", "reg.example.com"},
		{"https://reg.example.com/v2/", "reg.example.com"},
		{"http://localhost:5000/", "localhost:5000"},
		{"reg.example.com/team/app", "reg.example.com"},
		{"https://index.docker.io/v1/", dockerHubKey},
		{"https://index.docker.io/v1", dockerHubKey},
		{"docker.io", dockerHubKey},
		{"registry-1.docker.io", dockerHubKey},
		{"https://[::1]:5000/v2/", "[::1]:5000"},
		// A server URL that names two hosts is read as docker reads it,
		// and never as the second host.
		{"evil.example/x://reg.example.com", "evil.example"},
		{"evil.example/https://reg.example.com/v2/", "evil.example"},
		{"evil.example:5000/a://reg.example.com", "evil.example:5000"},
		{"https://reg.example.com@evil.example/", "evil.example"},
		{"https://evil.example/https://reg.example.com", "evil.example"},
	}
	for _, tt := range tests {
		if got := helperKey(tt.serverURL); got != tt.want {
			t.Errorf("helperKey(%q) = %q, want %q", tt.serverURL, got, tt.want)
		}
	}
}

func TestCachedTokenReusable(t *testing.T) {
	minted := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		lifetime time.Duration
		age      time.Duration
		want     bool
	}{
		{"fresh 12h token", 12 * time.Hour, time.Minute, true},
		{"12h token with more than a quarter left", 12 * time.Hour, 8*time.Hour + 59*time.Minute, true},
		{"12h token with a quarter left", 12 * time.Hour, 9 * time.Hour, false},
		{"2m token with 31s left", 2 * time.Minute, 89 * time.Second, true},
		{"2m token with 30s left", 2 * time.Minute, 90 * time.Second, false},
		{"60s token just minted", time.Minute, 0, true},
		{"60s token with 30s left", time.Minute, 30 * time.Second, false},
		{"20s token is never served again", 20 * time.Second, 0, false},
		{"expired", time.Hour, 2 * time.Hour, false},
	}
	for _, tt := range tests {
		tok := cachedToken{MintedAt: minted, ExpiresAt: minted.Add(tt.lifetime)}
		if got := tok.reusable(minted.Add(tt.age)); got != tt.want {
			t.Errorf("%s: reusable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// helperWorld is a test's HOME, config and cache folders, and Docker
// config, with no identity in the environment but what the test sets.
type helperWorld struct {
	dir      string
	now      time.Time
	nowMu    sync.Mutex
	cacheDir string
}

func newHelperWorld(t *testing.T) *helperWorld {
	w := &helperWorld{dir: t.TempDir(), now: time.Now()}
	home := filepath.Join(w.dir, "home")
	w.cacheDir = filepath.Join(home, ".cache")
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_CACHE_HOME", w.cacheDir)
	t.Setenv("DOCKER_CONFIG", filepath.Join(w.dir, "docker"))
	t.Setenv("PATH", filepath.Join(w.dir, "bin"))
	clearIdentityEnv(t)
	for _, name := range []string{"FLUX_MIRROR_CONFIG", "FLUX_MIRROR_NO_CACHE", "FLUX_MIRROR_TIMEOUT",
		"DOCKER_AUTH_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR"} {
		t.Setenv(name, "")
	}
	t.Setenv("HOME", home)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if err := os.MkdirAll(filepath.Join(w.dir, "bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	return w
}

// clearIdentityEnv empties every variable that goes into a cache key, so
// that only what the test sets decides the identity.
func clearIdentityEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); isIdentityEnv(name) {
			t.Setenv(name, "")
		}
	}
}

// env is helper mode's environment with the world's clock.
func (w *helperWorld) env() helperEnv {
	env := osHelperEnv()
	env.now = func() time.Time {
		w.nowMu.Lock()
		defer w.nowMu.Unlock()
		return w.now
	}
	return env
}

func (w *helperWorld) advance(d time.Duration) {
	w.nowMu.Lock()
	defer w.nowMu.Unlock()
	w.now = w.now.Add(d)
}

// writeConfig writes a config and points FLUX_MIRROR_CONFIG at it.
func (w *helperWorld) writeConfig(t *testing.T, yaml string) {
	path := filepath.Join(w.dir, "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLUX_MIRROR_CONFIG", path)
}

// get runs the helper's get in process.
func (w *helperWorld) get(t *testing.T, serverURL string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runCredentialHelper([]string{"get"}, w.env(), strings.NewReader(serverURL+"\n"), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// linkHelper puts a docker-credential-flux-mirror link to exe on the
// world's PATH: this test binary, which TestMain runs as the helper, or
// the small helper (helperBinaries).
func (w *helperWorld) linkHelper(t *testing.T, exe string) string {
	link := filepath.Join(w.dir, "bin", helperProgram)
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// expiringJWT is a provider's token that expires at exp: the helper
// reads its expiry without verifying it, as login does.
func expiringJWT(t *testing.T, exp time.Time) string {
	return unsignedJWT(t, map[string]any{"aud": "reg.example.com", "exp": exp.Unix(), "jti": rand.Text()})
}

const actionsConfig = `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: reg.example.com
    username: ci
    credential:
      provider: github
`

// startActionsFake serves the Actions ID token endpoint answering token,
// counting its answers.
func startActionsFake(t *testing.T, token string, delay time.Duration) *atomic.Int32 {
	var mints atomic.Int32
	f := &actionsOIDCFake{requestToken: "request-token-" + rand.Text(), token: token, delay: delay,
		record: func(string) { mints.Add(1) }}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv(envActionsRequestURL, srv.URL+"/idtoken?api-version=2.0")
	t.Setenv(envActionsRequestToken, f.requestToken)
	return &mints
}

// TestHelperCachesMintedToken reads a provider host several times: within
// the reuse window the token comes from the cache, after it (less than
// max(30s, a quarter of the lifetime) left) the helper mints again, and a
// failed mint is never answered with the cached token.
func TestHelperCachesMintedToken(t *testing.T) {
	w := newHelperWorld(t)
	w.writeConfig(t, actionsConfig)
	token := expiringJWT(t, w.now.Add(2*time.Minute))
	mints := startActionsFake(t, token, 0)
	requestToken := os.Getenv(envActionsRequestToken)
	want := fmt.Sprintf(`{"ServerURL":"reg.example.com","Username":"ci","Secret":%q}`+"\n", token)
	var outputs []string
	get := func(wantMints int32) {
		t.Helper()
		code, stdout, stderr := w.get(t, "reg.example.com")
		outputs = append(outputs, stderr)
		if code != 0 || stdout != want {
			checkNoSecrets(t, []string{token}, "", nil, stdout)
			t.Fatalf("get: exit %d, stderr %q; want the token", code, stderr)
		}
		if got := mints.Load(); got != wantMints {
			t.Fatalf("after get: %d mints, want %d", got, wantMints)
		}
	}
	get(1)
	w.advance(60 * time.Second) // 60s left of 2m: reused
	get(1)
	w.advance(31 * time.Second) // 29s left: minted again
	get(2)

	// The entry is 0600 in a 0700 folder, named by hashes: neither the
	// request token nor any other environment value is in a name.
	dir := filepath.Join(w.cacheDir, cacheFolderName)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache folder: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(entries) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(entries))
	}
	fi, err := os.Stat(entries[0])
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache entry: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	names, _ := os.ReadDir(dir)
	for _, n := range names {
		outputs = append(outputs, n.Name())
	}
	// The cache holds the minted token by design, nothing else secret.
	checkNoSecrets(t, []string{token, requestToken}, w.dir, []string{dir}, outputs...)
	checkNoSecrets(t, []string{requestToken}, dir, nil)

	// Another identity (another job's request token) never reads it.
	t.Setenv(envActionsRequestToken, "request-token-of-another-job")
	if code, stdout, _ := w.get(t, "reg.example.com"); code != 1 || strings.Contains(stdout, token) {
		t.Fatalf("get with another request token: exit %d; want a failed mint, not the cached token", code)
	}
	t.Setenv(envActionsRequestToken, requestToken)

	// Past the window, a failing mint is an error, not the old token.
	w.advance(100 * time.Second)
	t.Setenv(envActionsRequestURL, "http://127.0.0.1:9/idtoken")
	code, stdout, _ := w.get(t, "reg.example.com")
	checkNoSecrets(t, []string{token}, "", nil, stdout)
	if code != 1 || !strings.HasPrefix(stdout, `host "reg.example.com": credential: provider github: request OIDC token:`) {
		t.Fatalf("get with the endpoint down: exit %d, stdout %q; want the mint's error", code, stdout)
	}

	// FLUX_MIRROR_NO_CACHE=1 mints at every get.
	mints = startActionsFake(t, token, 0)
	t.Setenv("FLUX_MIRROR_NO_CACHE", "1")
	get(1)
	get(2)
}

// TestHelperCachesOnlyKnownExpiry: a provider token without exp is not
// cached, so every get mints.
func TestHelperCachesOnlyKnownExpiry(t *testing.T) {
	w := newHelperWorld(t)
	w.writeConfig(t, actionsConfig)
	mints := startActionsFake(t, "opaque-token-"+rand.Text(), 0)
	for range 2 {
		if code, _, stderr := w.get(t, "reg.example.com"); code != 0 {
			t.Fatalf("get: exit %d, stderr %q", code, stderr)
		}
	}
	if got := mints.Load(); got != 2 {
		t.Fatalf("%d mints for 2 gets of a token without exp, want 2", got)
	}
	entries, _ := filepath.Glob(filepath.Join(w.cacheDir, cacheFolderName, "*.json"))
	if len(entries) != 0 {
		t.Fatalf("cache holds %d entries for a token without exp, want none", len(entries))
	}
}

// TestHelperColdCacheMintsOnce runs 16 helper processes at once on a cold
// cache: the entry's lock makes one mint and the others read its token.
// Run against both helpers: the small one hands each miss to the full
// binary, and those runs share the lock.
func TestHelperColdCacheMintsOnce(t *testing.T) {
	for name, exe := range helperBinaries(t) {
		t.Run(name, func(t *testing.T) { testColdCacheMintsOnce(t, exe) })
	}
}

func testColdCacheMintsOnce(t *testing.T, exe string) {
	w := newHelperWorld(t)
	w.writeConfig(t, actionsConfig)
	token := expiringJWT(t, time.Now().Add(time.Hour))
	// The delay keeps the first mint in flight while the others start.
	mints := startActionsFake(t, token, 300*time.Millisecond)
	helper := w.linkHelper(t, exe)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 16 {
		wg.Go(func() {
			cmd := exec.Command(helper, "get")
			cmd.Stdin = strings.NewReader("reg.example.com\n")
			out, err := cmd.Output()
			var c helperCredential
			if err != nil || json.Unmarshal(out, &c) != nil || c.Secret != token {
				errs <- fmt.Sprintf("get: %v", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := mints.Load(); got != 1 {
		t.Fatalf("16 concurrent gets minted %d times, want 1", got)
	}
}

// TestHelperGetTimeout bounds a get by FLUX_MIRROR_TIMEOUT, so a hanging
// identity endpoint fails docker pull instead of hanging it.
func TestHelperGetTimeout(t *testing.T) {
	w := newHelperWorld(t)
	w.writeConfig(t, actionsConfig)
	startActionsFake(t, expiringJWT(t, time.Now().Add(time.Hour)), 10*time.Second)
	t.Setenv("FLUX_MIRROR_TIMEOUT", "300ms")
	start := time.Now()
	code, stdout, _ := w.get(t, "reg.example.com")
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("get took %s with FLUX_MIRROR_TIMEOUT=300ms", took)
	}
	if code != 1 || !strings.Contains(stdout, "FLUX_MIRROR_TIMEOUT 300ms") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("get: exit %d, stdout %q; want one line naming FLUX_MIRROR_TIMEOUT", code, stdout)
	}
}

// TestHelperPushPastExpiry is the helper's reason to be: a registry that
// takes only unexpired 3s JWTs as Basic passwords, a push, a wait past the
// JWT's expiry, and a second push with the same keychain, which succeeds
// because the helper signed a fresh JWT. A signed JWT never goes to the
// cache. Run against both helpers.
func TestHelperPushPastExpiry(t *testing.T) {
	for name, exe := range helperBinaries(t) {
		t.Run(name, func(t *testing.T) { testPushPastExpiry(t, exe) })
	}
}

func testPushPastExpiry(t *testing.T, exe string) {
	rt := newRoundTrip(t, time.Now)
	w := &helperWorld{dir: rt.dir}
	home := os.Getenv("HOME")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	t.Setenv("FLUX_MIRROR_NO_CACHE", "")
	t.Setenv("FLUX_MIRROR_TIMEOUT", "")
	w.linkHelper(t, exe)

	var mu sync.Mutex
	var passwords []string
	host := startRegistry(t, func(host string, r *http.Request) (bool, string) {
		user, pass, ok := r.BasicAuth()
		if ok && subtle.ConstantTimeCompare([]byte(user), []byte(roundTripUser)) == 1 {
			_, err := verifyRoundTripToken(pass, rt.publicKeys, host, time.Now())
			ok = err == nil
		} else {
			ok = false
		}
		if ok {
			mu.Lock()
			if len(passwords) == 0 || passwords[len(passwords)-1] != pass {
				passwords = append(passwords, pass)
			}
			mu.Unlock()
		}
		return ok, `Basic realm="flux-mirror helper test"`
	})
	cfg := fmt.Sprintf(`apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: %s
    username: %s
    credential:
      jwkPath: keys/privkey.json
      iss: %s
      sub: %s
      exp: 3s
`, host, roundTripUser, roundTripIssuer, roundTripSubject)
	cfgPath := filepath.Join(rt.dir, "helper.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runRealLogin(t, "login", "--helper", "-f", cfgPath)
	checkNoSecrets(t, []string{rt.privateKey}, rt.dir, rt.stores(), stdout, stderr)
	if code != 0 {
		t.Fatalf("login --helper: exit %d, stderr:\n%s", code, stderr)
	}

	push := func() {
		t.Helper()
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(roundTripRef(t, host), img, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithContext(t.Context())); err != nil {
			t.Fatalf("push to %s: %v", host, err)
		}
	}
	push()
	time.Sleep(4 * time.Second)
	push()
	if len(passwords) != 2 {
		t.Fatalf("the registry accepted %d distinct JWTs over two pushes 4s apart, want 2", len(passwords))
	}
	// Neither JWT rests anywhere: not in config.json, not in the cache.
	checkNoSecrets(t, append([]string{rt.privateKey}, passwords...), rt.dir, rt.stores())
	filepath.WalkDir(filepath.Join(home, ".cache"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			t.Errorf("the cache holds %s for a locally signed JWT", path)
		}
		return nil
	})
}
