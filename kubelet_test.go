package main

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The kubelet's own credential provider code, built by .ci/kube/build into
// the folder $FLUX_MIRROR_KUBE_BIN names, runs flux-mirror as the kubelet
// does: the config is what --print-config printed, the bin dir holds
// flux-mirror (behind a script that counts its runs), and each scenario is
// one kubelet-harness process (the kubelet's registration is per process).

// kubeTool returns the path of a binary of .ci/kube/build, or skips (fails
// under FLUX_MIRROR_REQUIRE_KUBE=1) when it is not built.
func kubeTool(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(kubeBinDir(t), name)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv(kubeRequireEnv) == "1" {
			t.Fatalf("%s: %v (bash .ci/kube/build builds it)", name, err)
		}
		t.Skipf("%s: %v (bash .ci/kube/build builds it)", name, err)
	}
	return path
}

// kubeletWorld is one test's node: a folder with the hosts config, keys,
// the bin dir and the printed CredentialProviderConfig, the registries
// and the environment the kubelet (and so flux-mirror) runs with.
type kubeletWorld struct {
	t         *testing.T
	harness   string
	dir       string
	bin       string
	env       []string
	secrets   []string
	outputs   []string
	oidcToken string
	// basicHost is Debian's docker-registry, the real registry of the
	// client matrix (.ci/clients); the others are in-process registries
	// (see newKubeletWorld).
	basicHost, jwtHost, oidcHost, podHost string
	password, saToken, saToken2           string
}

// A registry that takes HTTP Basic checks the password of a user as check
// says.
func basicRegistry(t *testing.T, user string, check func(host, password string) bool) string {
	return startRegistry(t, func(host string, r *http.Request) (bool, string) {
		u, p, ok := r.BasicAuth()
		return ok && u == user && check(host, p), `Basic realm="flux-mirror kubelet test"`
	})
}

// fakeJWT is an unsigned-looking JWT that expires in lifetime: what a
// registry fake compares byte for byte, with an exp flux-mirror reads.
func fakeJWT(lifetime time.Duration) string {
	seg := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return seg(map[string]string{"alg": "ES256", "typ": "JWT"}) + "." +
		seg(map[string]any{"exp": time.Now().Add(lifetime).Unix(), "jti": randomSecret()}) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(randomSecret()))
}

func newKubeletWorld(t *testing.T) *kubeletWorld {
	harness := kubeTool(t, "kubelet-harness")
	exe, err := exec.LookPath("flux-mirror")
	if err != nil {
		t.Fatalf("flux-mirror is not on PATH (testscript.Main puts it there): %v", err)
	}
	w := &kubeletWorld{t: t, harness: harness, dir: t.TempDir(), password: randomSecret(),
		oidcToken: fakeJWT(time.Hour), saToken: fakeJWT(time.Hour), saToken2: fakeJWT(time.Hour)}
	w.bin = filepath.Join(w.dir, "bin")
	home := filepath.Join(w.dir, "home")
	for _, d := range []string{w.bin, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The bin dir entries are flux-mirror behind a script that counts
	// the kubelet's runs of each provider.
	for _, name := range []string{kubeletProviderName, kubeletSAProviderName} {
		script := fmt.Sprintf("#!/bin/sh\necho %s >>%s\nexec %s \"$@\"\n", name, filepath.Join(w.dir, "execs.log"), exe)
		if err := os.WriteFile(filepath.Join(w.bin, name), []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
	}

	// keygen's key signs the jwkPath host's JWTs.
	code, stdout, stderr := runRealLogin(t, "keygen", "-o", filepath.Join(w.dir, "keys"))
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	w.outputs = append(w.outputs, stdout, stderr)
	keys, priv := readKeygenKeys(t, w.dir)
	w.secrets = append(w.secrets, priv, w.password, w.oidcToken, w.saToken, w.saToken2)

	equal := func(want string) func(string, string) bool {
		return func(_, p string) bool { return subtle.ConstantTimeCompare([]byte(p), []byte(want)) == 1 }
	}
	// The static host's credential is a fixed username and password:
	// a real registry checks it, against its htpasswd file. The other
	// sources' credentials are minted JWTs or tokens, which htpasswd
	// cannot check: one fixed password per user, and bcrypt reads only
	// the first 72 bytes, the part JWTs share. In-process registries check
	// those: the jwkPath JWT's signature, the OIDC and ServiceAccount
	// tokens byte for byte.
	w.basicHost = startDockerRegistry(t, "ci", w.password)
	w.jwtHost = basicRegistry(t, "signer", func(host, p string) bool {
		_, err := verifyRoundTripToken(p, keys, host, time.Now())
		return err == nil
	})
	w.oidcHost = basicRegistry(t, "actions", equal(w.oidcToken))
	w.podHost = basicRegistry(t, "robot", func(_, p string) bool { return p == w.saToken || p == w.saToken2 })

	oidc := &actionsOIDCFake{requestToken: "request-token-" + randomSecret(), token: w.oidcToken}
	srv := httptest.NewServer(oidc)
	t.Cleanup(srv.Close)
	w.secrets = append(w.secrets, oidc.requestToken)
	w.env = []string{
		"HOME=" + home, "PATH=/usr/bin:/bin",
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		envActionsRequestURL + "=" + srv.URL + "/idtoken", envActionsRequestToken + "=" + oidc.requestToken,
		"AWS_EC2_METADATA_DISABLED=true", "GCE_METADATA_HOST=127.0.0.1:9",
	}
	return w
}

// readKeygenKeys returns keygen's public key set in dir/keys and the
// private key's secret part.
func readKeygenKeys(t *testing.T, dir string) (*jose.JSONWebKeySet, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "keys", "pubkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	keys := new(jose.JSONWebKeySet)
	if err := json.Unmarshal(b, keys); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(filepath.Join(dir, "keys", "privkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			D string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) != 1 {
		t.Fatal("keygen privkey.json is not a set of one key")
	}
	return keys, set.Keys[0].D
}

// hostsConfig is a config of every source the kubelet test serves. The
// jwkPath JWT lives 32s: its cacheDuration is 2s (32s less the 30s margin).
func (w *kubeletWorld) hostsConfig(extra string) string {
	return fmt.Sprintf(`apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
- host: %s
  username: ci
  credential:
    value: %s
- host: %s
  username: signer
  credential:
    jwkPath: keys/privkey.json
    iss: %s
    sub: %s
    exp: 32s
- host: %s
  username: actions
  credential:
    provider: github
- host: index.docker.io
  username: hub
  credential:
    value: %s
- host: %s
  credential:
    provider: kubelet
    aud: registry.example.com
%s`, w.basicHost, w.password, w.jwtHost, roundTripIssuer, roundTripSubject, w.oidcHost, w.password, w.podHost, extra)
}

// printConfig writes hosts as hosts.yaml and the CredentialProviderConfig
// flux-mirror prints for it as kubelet.yaml, failing unless it exits 0.
func (w *kubeletWorld) printConfig(hosts string) string {
	w.t.Helper()
	code, stdout, stderr := w.printConfigRun(hosts)
	if code != 0 {
		w.t.Fatalf("--print-config: exit %d: %s", code, stderr)
	}
	path := filepath.Join(w.dir, "kubelet.yaml")
	if err := os.WriteFile(path, []byte(stdout), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

func (w *kubeletWorld) printConfigRun(hosts string) (int, string, string) {
	w.t.Helper()
	hostsPath := filepath.Join(w.dir, "hosts.yaml")
	if err := os.WriteFile(hostsPath, []byte(hosts), 0o600); err != nil {
		w.t.Fatal(err)
	}
	code, stdout, stderr := runRealLogin(w.t, "kubelet-credential-provider", "--print-config", "--bin-dir", w.bin, "-f", hostsPath)
	w.outputs = append(w.outputs, stdout, stderr)
	return code, stdout, stderr
}

// harnessScenario and harnessResult mirror .ci/kube/kubelet-harness.
type harnessScenario struct {
	Config         string            `json:"config"`
	BinDir         string            `json:"binDir"`
	Pod            map[string]string `json:"pod"`
	ServiceAccount *struct {
		UID         string            `json:"uid"`
		Annotations map[string]string `json:"annotations"`
	} `json:"serviceAccount,omitempty"`
	Tokens []string            `json:"tokens"`
	Pulls  []map[string]string `json:"pulls"`
}

type harnessResult struct {
	RegisterError string `json:"registerError"`
	Pulls         []struct {
		Image, Repo string
		Found       bool
		Auths       []struct{ Username, Password, ServiceAccount string }
	} `json:"pulls"`
	TokenRequests []struct {
		Namespace, ServiceAccount, BoundPod string
		Audiences                           []string
	} `json:"tokenRequests"`
	ServiceAccountGets int    `json:"serviceAccountGets"`
	Log                string `json:"log"`
}

// kubelet runs one scenario and returns what the kubelet got and how many
// times it ran each provider.
func (w *kubeletWorld) kubelet(sc harnessScenario) (harnessResult, map[string]int) {
	w.t.Helper()
	os.Remove(filepath.Join(w.dir, "execs.log"))
	sc.BinDir = w.bin
	if sc.Pod == nil {
		sc.Pod = map[string]string{"namespace": "apps", "name": "web-0", "uid": "pod-uid-1"}
	}
	in, err := json.Marshal(sc)
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(w.harness)
	cmd.Env, cmd.Dir, cmd.Stdin = w.env, w.dir, bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("kubelet-harness: %v: %s", err, stderr.String())
	}
	var res harnessResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		w.t.Fatalf("kubelet-harness output: %v", err)
	}
	// Only the credentials are meant to hold a secret: the log (where the
	// kubelet puts a failing plugin's stderr) and stderr must not.
	w.outputs = append(w.outputs, res.Log, stderr.String())
	execs := map[string]int{}
	if b, err := os.ReadFile(filepath.Join(w.dir, "execs.log")); err == nil {
		for _, name := range strings.Fields(string(b)) {
			execs[name]++
		}
	}
	return res, execs
}

// sweep checks that no output and no file but the config and the key
// holds a secret.
func (w *kubeletWorld) sweep() {
	w.t.Helper()
	checkNoSecrets(w.t, w.secrets, w.dir, []string{filepath.Join(w.dir, "hosts.yaml"), filepath.Join(w.dir, "keys", "privkey.json")}, w.outputs...)
}

// pushPull pushes an image to host with the credential the kubelet got and
// pulls it back whole.
func pushPull(t *testing.T, host, username, password string) {
	t.Helper()
	ref := roundTripRef(t, host)
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: username, Password: password})
	if err := remote.Write(ref, img, auth, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push to %s with the kubelet's credential: %v", host, err)
	}
	pulled, err := remote.Image(ref, auth, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("pull from %s: %v", host, err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Fatalf("pulled image from %s: %v", host, err)
	}
}

// TestKubeletNodeSources: the kubelet, given the printed config, gets a
// working credential for each source of the node (a value, a jwkPath JWT,
// an Actions OIDC token, Docker Hub under its three spellings), runs
// flux-mirror once per registry while the credential is cached and again
// once a JWT's cacheDuration is over, and gets nothing for a registry
// outside the config. The static host's credential pushes and pulls
// against a real docker-registry, which refuses a wrong password.
func TestKubeletNodeSources(t *testing.T) {
	w := newKubeletWorld(t)
	cfg := w.printConfig(w.hostsConfig(""))
	res, execs := w.kubelet(harnessScenario{Config: cfg, Pulls: []map[string]string{
		{"image": w.basicHost + "/team/app:v1"},
		{"image": w.jwtHost + "/team/app:v1"},
		{"image": w.jwtHost + "/team/other:v2"}, // cached: the same registry
		{"image": w.oidcHost + "/team/app:v1"},
		{"image": "nginx"},
		{"image": "docker.io/library/nginx:1.27"},
		{"image": "index.docker.io/library/nginx"},
		{"image": "quay.io/team/app:v1"},
		{"image": w.jwtHost + "/team/app:v1", "sleepFirst": "3s"}, // past the 2s cacheDuration
	}})
	w.sweep()
	if res.RegisterError != "" {
		t.Fatalf("the kubelet refused the printed config: %s", res.RegisterError)
	}
	got := func(i int) (string, string) {
		t.Helper()
		p := res.Pulls[i]
		if !p.Found || len(p.Auths) != 1 {
			t.Fatalf("pull %s: found %v with %d credentials, want one; kubelet log:\n%s", p.Image, p.Found, len(p.Auths), res.Log)
		}
		return p.Auths[0].Username, p.Auths[0].Password
	}
	staticUser, staticPassword := got(0)
	if staticUser != "ci" || staticPassword != w.password {
		t.Errorf("static host: username %q and the config's password: %v", staticUser, staticPassword == w.password)
	}
	u, jwt1 := got(1)
	_, jwt2 := got(2)
	_, jwt3 := got(8)
	if u != "signer" || jwt1 != jwt2 || jwt3 == jwt1 {
		t.Errorf("jwkPath host: username %q; cached pull got the first JWT: %v; pull after 3s got a fresh one: %v", u, jwt1 == jwt2, jwt3 != jwt1)
	}
	if u, p := got(3); u != "actions" || p != w.oidcToken {
		t.Errorf("github host: username %q and the OIDC token: %v", u, p == w.oidcToken)
	}
	for i := 4; i <= 6; i++ {
		if u, p := got(i); u != "hub" || p != w.password {
			t.Errorf("%s: username %q and the config's password: %v", res.Pulls[i].Image, u, p == w.password)
		}
	}
	if res.Pulls[7].Found {
		t.Errorf("quay.io is not in the config but the kubelet found a credential")
	}
	// One run per registry and one more for the expired JWT: Docker Hub's
	// three spellings are one registry to the kubelet's cache.
	if want := map[string]int{kubeletProviderName: 5}; fmt.Sprint(execs) != fmt.Sprint(want) {
		t.Errorf("the kubelet ran %v, want %v; kubelet log:\n%s", execs, want, res.Log)
	}
	pushPull(t, w.basicHost, staticUser, staticPassword)
	wrong := randomSecret()
	w.secrets = append(w.secrets, wrong)
	assertPushRefusedWith(t, w.basicHost, remote.WithAuth(&authn.Basic{Username: staticUser, Password: wrong}))
	pushPull(t, w.jwtHost, "signer", jwt3)
	pushPull(t, w.oidcHost, "actions", w.oidcToken)
	w.sweep()
}

// TestKubeletServiceAccountToken: for a kubelet-source host the kubelet
// asks the API server for a token with the printed audience, bound to the
// pod, and hands it with the username annotation to flux-mirror, whose
// answer is cached by token; a ServiceAccount without the annotation
// never runs flux-mirror.
func TestKubeletServiceAccountToken(t *testing.T) {
	w := newKubeletWorld(t)
	cfg := w.printConfig(w.hostsConfig(""))
	sa := &struct {
		UID         string            `json:"uid"`
		Annotations map[string]string `json:"annotations"`
	}{UID: "sa-uid-1", Annotations: map[string]string{kubeletUsernameAnnotation: "robot", "other": "x"}}
	pod := map[string]string{"namespace": "apps", "name": "web-0", "uid": "pod-uid-1", "serviceAccountName": "puller"}
	res, execs := w.kubelet(harnessScenario{Config: cfg, Pod: pod, ServiceAccount: sa,
		Tokens: []string{w.saToken, w.saToken, w.saToken2},
		Pulls: []map[string]string{
			{"image": w.podHost + "/team/app:v1"},
			{"image": w.podHost + "/team/app:v2"}, // the same token: cached
			{"image": w.podHost + "/team/app:v3"}, // a new token: runs again
			{"image": w.basicHost + "/team/app:v1"},
		}})
	w.sweep()
	if res.RegisterError != "" {
		t.Fatalf("the kubelet refused the printed config: %s", res.RegisterError)
	}
	for i, want := range []string{w.saToken, w.saToken, w.saToken2} {
		p := res.Pulls[i]
		if !p.Found || len(p.Auths) != 1 || p.Auths[0].Username != "robot" || p.Auths[0].Password != want || p.Auths[0].ServiceAccount != "apps/puller" {
			t.Fatalf("pull %d of %s: found %v, %d credentials, want robot with token %d of the ServiceAccount; kubelet log:\n%s", i, p.Image, p.Found, len(p.Auths), i, res.Log)
		}
	}
	if !res.Pulls[3].Found || res.Pulls[3].Auths[0].Password != w.password {
		t.Errorf("the static host beside the ServiceAccount provider got no credential")
	}
	if len(res.TokenRequests) != 3 {
		t.Fatalf("the kubelet made %d TokenRequests, want 3 (one per pull of the host)", len(res.TokenRequests))
	}
	for _, tr := range res.TokenRequests {
		if tr.Namespace != "apps" || tr.ServiceAccount != "puller" || fmt.Sprint(tr.Audiences) != "[registry.example.com]" || tr.BoundPod != "Pod/web-0/pod-uid-1" {
			t.Errorf("TokenRequest %+v: want apps/puller for [registry.example.com] bound to Pod/web-0/pod-uid-1", tr)
		}
	}
	if want := map[string]int{kubeletProviderName: 1, kubeletSAProviderName: 2}; fmt.Sprint(execs) != fmt.Sprint(want) {
		t.Errorf("the kubelet ran %v, want %v", execs, want)
	}
	pushPull(t, w.podHost, "robot", w.saToken2)

	// Without the username annotation the kubelet does not run us.
	sa.Annotations = map[string]string{"other": "x"}
	res, execs = w.kubelet(harnessScenario{Config: cfg, Pod: pod, ServiceAccount: sa, Tokens: []string{w.saToken},
		Pulls: []map[string]string{{"image": w.podHost + "/team/app:v1"}}})
	w.sweep()
	if res.Pulls[0].Found || len(res.TokenRequests) != 0 || execs[kubeletSAProviderName] != 0 {
		t.Errorf("ServiceAccount without %s: found %v, %d TokenRequests, %d runs; want none", kubeletUsernameAnnotation, res.Pulls[0].Found, len(res.TokenRequests), execs[kubeletSAProviderName])
	}
	if !strings.Contains(res.Log, "required annotation "+kubeletUsernameAnnotation+" not found") {
		t.Errorf("the kubelet's log does not say the annotation is missing:\n%s", res.Log)
	}
}

// TestKubeletRefusals: a bearer-only host is refused by --print-config,
// and, put in a config by hand, by the plugin with an error the kubelet
// logs; the kubelet's own validation refuses a config without
// defaultCacheDuration, which shows the printed config passed it.
func TestKubeletRefusals(t *testing.T) {
	w := newKubeletWorld(t)
	bearer := "- host: bearer.example.com\n  credential:\n    value: " + w.password + "\n"
	code, _, stderr := w.printConfigRun(w.hostsConfig(bearer))
	want := `✗ host "bearer.example.com": the kubelet takes only a username and password: set username on this host to serve it to the kubelet`
	if code != 1 || strings.TrimSpace(stderr) != want {
		t.Errorf("--print-config with a bearer-only host: exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}

	cfg := w.printConfig(w.hostsConfig(""))
	// The hosts config gains the bearer host after the kubelet's config
	// was printed; a hand-made config matches it.
	if err := os.WriteFile(filepath.Join(w.dir, "hosts.yaml"), []byte(w.hostsConfig(bearer)), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "  - docker.io\n", "  - docker.io\n  - bearer.example.com\n", 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	res, execs := w.kubelet(harnessScenario{Config: cfg, Pulls: []map[string]string{{"image": "bearer.example.com/team/app"}}})
	w.sweep()
	if res.Pulls[0].Found || execs[kubeletProviderName] != 1 {
		t.Errorf("bearer host: found %v after %d runs; want nothing after 1", res.Pulls[0].Found, execs[kubeletProviderName])
	}
	if !strings.Contains(res.Log, "the kubelet takes only a username and password") {
		t.Errorf("the kubelet's log does not hold flux-mirror's error:\n%s", res.Log)
	}

	text = strings.ReplaceAll(text, "  defaultCacheDuration: "+kubeletDefaultCacheDuration+"\n", "")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	res, _ = w.kubelet(harnessScenario{Config: cfg})
	if !strings.Contains(res.RegisterError, "defaultCacheDuration: Required value") {
		t.Errorf("the kubelet took a config without defaultCacheDuration: %q", res.RegisterError)
	}
}
