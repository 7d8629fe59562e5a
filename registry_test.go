package main

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The claims testdata/real/registry.yaml asks for, which the token registry
// requires.
const (
	roundTripUser    = "flux-mirror-ci"
	roundTripIssuer  = "https://ci.example.invalid"
	roundTripSubject = "flux-mirror-roundtrip"
)

// TestRegistryRoundTrip proves that what login stores authenticates: it
// logs in to two real OCI registries on 127.0.0.1 (one taking HTTP Basic,
// one taking a bearer JWT it verifies against the keygen public key), then
// pushes and pulls an image with go-containerregistry's DefaultKeychain, as
// crane and flux push artifact do. The negative cases show the registries
// refuse what they should, so a passing push means the credential worked.
//
// The tool runs in-process through run, like in TestRealPassKeychain: its
// inputs are flags and environment variables, which t.Setenv keeps
// hermetic, and the registries are in-process too.
func TestRegistryRoundTrip(t *testing.T) {
	t.Run("login then push and pull", func(t *testing.T) {
		rt := newRoundTrip(t, time.Now)
		code, stdout, stderr := runRealLogin(t, rt.loginArgs()...)
		token := rt.storedToken(t)
		checkNoSecrets(t, []string{rt.password, token, rt.privateKey}, rt.dir, rt.stores(), stdout, stderr)
		if code != 0 {
			t.Fatalf("login: exit code %d, stderr:\n%s", code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		wantBasic := fmt.Sprintf("✔ stored credential for %s in %s", rt.basicHost, rt.configJSON())
		wantToken := fmt.Sprintf("✔ stored registry token for %s in %s (expires in ", rt.tokenHost, rt.configJSON())
		if len(lines) != 2 || lines[0] != wantBasic || !strings.HasPrefix(lines[1], wantToken) {
			t.Errorf("login stdout =\n%s\nwant\n%s\n%s…", stdout, wantBasic, wantToken)
		}

		// The stored token is the JWT the config asked for: the keygen key
		// signed it, for this host, for an hour.
		claims, err := verifyRoundTripToken(token, rt.publicKeys, rt.tokenHost, time.Now())
		if err != nil {
			t.Fatalf("stored registry token does not verify: %v", err)
		}
		if lifetime := claims.Expiry.Time().Sub(claims.IssuedAt.Time()); lifetime != time.Hour {
			t.Errorf("stored registry token lives %s (exp - iat), want 1h", lifetime)
		}

		for _, host := range []string{rt.basicHost, rt.tokenHost} {
			ref := roundTripRef(t, host)
			img, err := random.Image(1024, 2)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithContext(t.Context())); err != nil {
				t.Fatalf("push to %s: %v", host, err)
			}
			pulled, err := remote.Image(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithContext(t.Context()))
			if err != nil {
				t.Fatalf("pull from %s: %v", host, err)
			}
			// validate.Image downloads every blob and checks it against its
			// digest: the pull is whole, not just the manifest.
			if err := validate.Image(pulled); err != nil {
				t.Fatalf("pulled image from %s: %v", host, err)
			}
			want, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			got, err := pulled.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("pulled %s from %s, pushed %s", got, host, want)
			}
		}
	})

	t.Run("no login", func(t *testing.T) {
		// DOCKER_CONFIG names a folder that does not exist: anonymous.
		rt := newRoundTrip(t, time.Now)
		for _, host := range []string{rt.basicHost, rt.tokenHost} {
			assertPushRefused(t, host)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		rt := newRoundTrip(t, time.Now)
		wrong := randomSecret()
		t.Setenv("FLUX_MIRROR_TEST_PASSWORD", wrong)
		code, stdout, stderr := runRealLogin(t, rt.loginArgs("--host", rt.basicHost)...)
		checkNoSecrets(t, []string{rt.password, wrong}, rt.dir, rt.stores(), stdout, stderr)
		if code != 0 {
			t.Fatalf("login: exit code %d, stderr:\n%s", code, stderr)
		}
		assertPushRefused(t, rt.basicHost)
	})

	t.Run("expired token", func(t *testing.T) {
		// A registry whose clock is a minute ahead sees the tool's 1s token
		// the way a registry would a minute after login, without the wait.
		rt := newRoundTrip(t, func() time.Time { return time.Now().Add(time.Minute) })
		t.Setenv("FLUX_MIRROR_TEST_EXP", "1s")
		rt.loginTokenHost(t)
		assertPushRefused(t, rt.tokenHost)
	})

	t.Run("token signed by another key", func(t *testing.T) {
		// The registry keeps trusting the first key pair; login signs with
		// a second one written where the config looks.
		rt := newRoundTrip(t, time.Now)
		if err := os.RemoveAll(filepath.Join(rt.dir, "keys")); err != nil {
			t.Fatal(err)
		}
		rt.keygen(t)
		rt.loginTokenHost(t)
		assertPushRefused(t, rt.tokenHost)
	})
}

// roundTrip is one subtest's world: a folder holding the config, keys/ and
// the Docker config, and the two registries.
type roundTrip struct {
	dir        string
	basicHost  string // 127.0.0.1:port of the registry taking HTTP Basic
	tokenHost  string // 127.0.0.1:port of the registry taking a bearer JWT
	password   string // the only password the basic registry accepts
	privateKey string // the "d" of keys/privkey.json, a secret too
	publicKeys *jose.JSONWebKeySet
}

// newRoundTrip writes a key pair with keygen, starts the registries (the
// token registry trusts that key pair and reads the time from clock), lays
// out the config and points the environment at them: HOME empty,
// DOCKER_CONFIG the folder login writes, PATH with no credential helper.
func newRoundTrip(t *testing.T, clock func() time.Time) *roundTrip {
	rt := &roundTrip{dir: t.TempDir(), password: randomSecret()}
	home := filepath.Join(rt.dir, "home")
	bin := filepath.Join(rt.dir, "bin")
	for _, d := range []string{home, bin} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", filepath.Join(rt.dir, "docker"))
	t.Setenv("PATH", bin)
	t.Setenv("FLUX_MIRROR_CONFIG", "")
	t.Setenv("DOCKER_AUTH_CONFIG", "")
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))

	rt.keygen(t)
	b, err := os.ReadFile(filepath.Join(rt.dir, "keys", "pubkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	rt.publicKeys = new(jose.JSONWebKeySet)
	if err := json.Unmarshal(b, rt.publicKeys); err != nil {
		t.Fatalf("keygen pubkey.json: %v", err)
	}

	rt.basicHost = startRegistry(t, func(host string, r *http.Request) (bool, string) {
		user, pass, ok := r.BasicAuth()
		ok = ok && user == roundTripUser && subtle.ConstantTimeCompare([]byte(pass), []byte(rt.password)) == 1
		return ok, `Basic realm="flux-mirror test registry"`
	})
	rt.tokenHost = startRegistry(t, func(host string, r *http.Request) (bool, string) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok {
			_, err := verifyRoundTripToken(token, rt.publicKeys, host, clock())
			ok = err == nil
		}
		// A token registry's challenge (distribution's token auth spec).
		// Nothing here hands out tokens: the realm answers 401 like every
		// other path, so only a token from flux-mirror gets in.
		return ok, fmt.Sprintf(`Bearer realm="http://%s/token",service="%s"`, host, host)
	})

	cfg, err := os.ReadFile(filepath.Join("testdata", "real", "registry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rt.dir, "registry.yaml"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLUX_MIRROR_TEST_BASIC_HOST", rt.basicHost)
	t.Setenv("FLUX_MIRROR_TEST_TOKEN_HOST", rt.tokenHost)
	t.Setenv("FLUX_MIRROR_TEST_PASSWORD", rt.password)
	t.Setenv("FLUX_MIRROR_TEST_EXP", "1h")
	return rt
}

// keygen runs the tool's keygen into dir/keys and remembers the private
// key's secret part.
func (rt *roundTrip) keygen(t *testing.T) {
	t.Helper()
	keys := filepath.Join(rt.dir, "keys")
	code, stdout, stderr := runRealLogin(t, "keygen", "-o", keys)
	if code != 0 {
		t.Fatalf("keygen: exit code %d, stderr:\n%s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(keys, "privkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			D string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) != 1 || set.Keys[0].D == "" {
		t.Fatal("keygen privkey.json is not a set of one private key")
	}
	rt.privateKey = set.Keys[0].D
	checkNoSecrets(t, []string{rt.privateKey}, rt.dir, rt.stores(), stdout, stderr)
}

// stores are the files of the world that hold a secret by design, besides
// config.json: the private key set.
func (rt *roundTrip) stores() []string {
	return []string{filepath.Join(rt.dir, "keys", "privkey.json")}
}

// loginArgs is login on the copied config, writing to the Docker config
// folder both by flag and by DOCKER_CONFIG (which go-containerregistry reads).
func (rt *roundTrip) loginArgs(extra ...string) []string {
	args := []string{"login", "--plaintext", "-f", filepath.Join(rt.dir, "registry.yaml"), "--docker-config", filepath.Join(rt.dir, "docker")}
	return append(args, extra...)
}

// loginTokenHost logs in to the token host alone and fails unless login
// succeeded and stored a registry token that no output holds.
func (rt *roundTrip) loginTokenHost(t *testing.T) {
	t.Helper()
	code, stdout, stderr := runRealLogin(t, rt.loginArgs("--host", rt.tokenHost)...)
	token := rt.storedToken(t)
	checkNoSecrets(t, []string{token, rt.privateKey}, rt.dir, rt.stores(), stdout, stderr)
	if code != 0 {
		t.Fatalf("login: exit code %d, stderr:\n%s", code, stderr)
	}
	if token == "" {
		t.Fatal("login stored no registry token")
	}
}

func (rt *roundTrip) configJSON() string {
	return filepath.Join(rt.dir, "docker", "config.json")
}

// storedToken returns the registrytoken config.json holds for the token
// host, or "" when there is none yet.
func (rt *roundTrip) storedToken(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(rt.configJSON())
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct {
			RegistryToken string `json:"registrytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("config.json: %v", err)
	}
	return cfg.Auths[rt.tokenHost].RegistryToken
}

// startRegistry serves an in-memory OCI registry on 127.0.0.1 for the
// test's lifetime, answering every request that authorize refuses with 401
// and the challenge it returns. It returns the registry's host:port, which
// go-containerregistry reaches over plain http because it is a loopback
// address (name.Registry.Scheme).
func startRegistry(t *testing.T, authorize func(host string, r *http.Request) (ok bool, challenge string)) string {
	t.Helper()
	oci := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewUnstartedServer(nil)
	host := srv.Listener.Addr().String()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, challenge := authorize(host, r)
		if !ok {
			w.Header().Set("WWW-Authenticate", challenge)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			// The distribution spec's error body for a refused request.
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		oci.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return host
}

// verifyRoundTripToken checks token the way the token registry does: an
// EdDSA signature by the key of keys its header names, iss and sub as the
// config sets them, host among the audiences, and exp and nbf holding at
// now, with no leeway.
func verifyRoundTripToken(token string, keys *jose.JSONWebKeySet, host string, now time.Time) (*jwt.Claims, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, err
	}
	if len(tok.Headers) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	kid := tok.Headers[0].KeyID
	matching := keys.Key(kid)
	if len(matching) != 1 {
		return nil, fmt.Errorf("kid %q names %d trusted keys, want 1", kid, len(matching))
	}
	var claims jwt.Claims
	if err := tok.Claims(matching[0], &claims); err != nil {
		return nil, err
	}
	want := jwt.Expected{Issuer: roundTripIssuer, Subject: roundTripSubject, AnyAudience: jwt.Audience{host}, Time: now}
	if err := claims.ValidateWithLeeway(want, 0); err != nil {
		return nil, err
	}
	if claims.Expiry == nil || claims.IssuedAt == nil {
		return nil, errors.New("exp and iat are required")
	}
	return &claims, nil
}

// roundTripRef is a fresh repository on host.
func roundTripRef(t *testing.T, host string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(host + "/flux-mirror/roundtrip:v1")
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// assertPushRefused pushes an image to host with DefaultKeychain and
// requires the registry to refuse it with 401.
func assertPushRefused(t *testing.T, host string) {
	t.Helper()
	assertPushRefusedWith(t, host, remote.WithAuthFromKeychain(authn.DefaultKeychain))
}

// assertPushRefusedWith pushes an image to host with auth and requires the
// registry to refuse it with 401.
func assertPushRefusedWith(t *testing.T, host string, auth remote.Option) {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	err = remote.Write(roundTripRef(t, host), img, auth, remote.WithContext(t.Context()))
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Errorf("push to %s: got %v, want the registry's 401", host, err)
	}
}
