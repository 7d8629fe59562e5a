package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// The host and user of testdata/real/pass.yaml. Nothing dials the host: the
// keychain lookups below resolve its credential without a request.
const (
	passTestHost = "registry.example.invalid"
	passTestUser = "flux-mirror-ci"
)

// passHelperModule is the real docker-credential-pass, built from source
// rather than added to go.mod: the project never links it, it only runs it.
const passHelperModule = "github.com/docker/docker-credential-helpers"

const passHelperVersion = "v0.9.13"

// TestRealPassKeychain logs in through the real docker-credential-pass,
// backed by a real pass store and a throw-away GnuPG key, on a fresh Docker
// config, and reads the credential back the ways docker and
// go-containerregistry do.
//
// The tool runs in-process through run: everything it depends on here (PATH
// for the helper lookup, DOCKER_CONFIG, HOME) is read from the environment at
// call time, which t.Setenv sets hermetically, and the parts that must be
// real processes — the helper, pass, gpg — are real processes anyway.
func TestRealPassKeychain(t *testing.T) {
	passPath, err := exec.LookPath("pass")
	if err != nil {
		t.Skip("pass not installed: the real keychain test needs pass and gnupg on PATH (apt-get install pass gnupg)")
	}
	gpgPath, err := exec.LookPath("gpg")
	if err != nil {
		t.Skip("pass not installed: gpg is missing, the real keychain test needs pass and gnupg on PATH (apt-get install pass gnupg)")
	}
	// Built before the environment is narrowed: go needs the real HOME for
	// its module and build caches.
	helperDir := buildPassHelper(t)

	work := t.TempDir()
	home := filepath.Join(work, "home")
	dockerDir := filepath.Join(work, "docker") // does not exist: a fresh config
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", dockerDir)
	t.Setenv("FLUX_MIRROR_CONFIG", "")
	t.Setenv("DOCKER_AUTH_CONFIG", "")
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	// The helper, pass and gpg, and the system folders pass's shell script
	// needs (bash, getopt, tree, mkdir): no other docker-credential-* binary.
	t.Setenv("PATH", strings.Join(uniqueStrings(helperDir, filepath.Dir(passPath), filepath.Dir(gpgPath), "/usr/bin", "/bin"), string(os.PathListSeparator)))
	storeDir := newPassStore(t, work)

	configPath := filepath.Join("testdata", "real", "pass.yaml")
	configJSON := filepath.Join(dockerDir, "config.json")
	secret := randomSecret()
	t.Setenv("FLUX_MIRROR_TEST_PASSWORD", secret)

	// A fresh Docker config on Linux with pass on PATH: login picks the pass
	// helper by itself, as docker login does, and says so.
	code, stdout, stderr := runRealLogin(t, "login", "-f", configPath)
	// Nothing under work holds the secret in plaintext: the pass store
	// holds it encrypted, and config.json is checked below for every form.
	checkNoSecrets(t, []string{secret}, work, nil, stdout, stderr)
	if code != 0 {
		t.Fatalf("first login: exit code %d, stderr:\n%s", code, stderr)
	}
	wantLine := "✔ stored credential for " + passTestHost + " via the \"pass\" credential helper\n"
	if stdout != wantLine {
		t.Errorf("first login: stdout = %q, want %q", stdout, wantLine)
	}

	// config.json remembers the detected store and holds an empty entry for
	// the host, as docker leaves it after a helper store, and a credHelpers
	// entry for containers/image, which ignores credsStore.
	wantConfig := "{\n\t\"auths\": {\n\t\t\"" + passTestHost + "\": {}\n\t},\n\t\"credHelpers\": {\n\t\t\"" + passTestHost + "\": \"pass\"\n\t},\n\t\"credsStore\": \"pass\"\n}"
	got := readConfigJSON(t, configJSON, secret)
	if strings.TrimRight(got, "\n") != wantConfig {
		t.Errorf("config.json =\n%s\nwant\n%s", got, wantConfig)
	}
	for path, want := range map[string]fs.FileMode{dockerDir: fs.ModeDir | 0o700, configJSON: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}

	// The secret is in the pass store, encrypted, under the path the helper
	// derives from the server URL.
	checkPassStore(t, storeDir)

	// The helper gives the same pair back, and so does go-containerregistry's
	// default keychain, which is what crane and flux push artifact use.
	checkHelperGet(t, secret)
	checkDefaultKeychain(t, secret)

	// A second login with a new secret replaces the old one in the store;
	// config.json already says pass and is left as it was.
	newSecret := randomSecret()
	t.Setenv("FLUX_MIRROR_TEST_PASSWORD", newSecret)
	code, stdout, stderr = runRealLogin(t, "login", "-f", configPath)
	checkNoSecrets(t, []string{secret, newSecret}, work, nil, stdout, stderr)
	if code != 0 {
		t.Fatalf("second login: exit code %d, stderr:\n%s", code, stderr)
	}
	if stdout != wantLine {
		t.Errorf("second login: stdout = %q, want %q", stdout, wantLine)
	}
	if again := readConfigJSON(t, configJSON, newSecret); again != got {
		t.Errorf("second login changed config.json to\n%s", again)
	}
	checkPassStore(t, storeDir)
	checkHelperGet(t, newSecret)
	checkDefaultKeychain(t, newSecret)
}

// buildPassHelper builds docker-credential-pass into a temporary folder and
// returns that folder. It skips the test when the module cannot be fetched
// (GOPROXY=off, no network) and fails it when the fetched module does not
// build.
func buildPassHelper(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build docker-credential-pass: %v", err)
	}
	gobin := t.TempDir()
	// Run outside this module so that neither command reads or edits its
	// go.mod; -mod=mod lets go install resolve the helper's own go.mod.
	env := append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "GOWORK=off")
	module := passHelperModule + "@" + passHelperVersion
	download := exec.Command(goTool, "mod", "download", module)
	download.Dir, download.Env = gobin, env
	if out, err := download.CombinedOutput(); err != nil {
		t.Skipf("docker-credential-pass cannot be fetched (%s): %v\n%s", module, err, out)
	}
	install := exec.Command(goTool, "install", passHelperModule+"/pass/cmd@"+passHelperVersion)
	install.Dir, install.Env = gobin, env
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("building docker-credential-pass %s: %v\n%s", passHelperVersion, err, out)
	}
	// The main package's folder is named cmd, and so is the binary.
	helper := filepath.Join(gobin, "docker-credential-pass")
	if err := os.Rename(filepath.Join(gobin, "cmd"), helper); err != nil {
		t.Fatal(err)
	}
	return gobin
}

// newPassStore makes a GnuPG home with a throw-away key that has no
// passphrase, starts its agent (stopped when the test ends) and initialises a
// pass store for that key. GNUPGHOME and PASSWORD_STORE_DIR point at them for
// the rest of the test. It returns the store's folder.
func newPassStore(t *testing.T, work string) string {
	t.Helper()
	gnupgHome := filepath.Join(work, "gnupg")
	if err := os.Mkdir(gnupgHome, 0o700); err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(work, "password-store")
	t.Setenv("GNUPGHOME", gnupgHome)
	t.Setenv("PASSWORD_STORE_DIR", storeDir)
	t.Setenv("PASSWORD_STORE_KEY", "")
	t.Setenv("PASSWORD_STORE_GPG_OPTS", "")

	// Start the agent up front, detached from any output pipe, so that no
	// later gpg (under pass, under the helper, under the tool) spawns one
	// that holds that program's stdout open.
	runProgram(t, "gpgconf", "--launch", "gpg-agent")
	t.Cleanup(func() {
		// Named explicitly: t.Setenv's own cleanup may already have run.
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), "GNUPGHOME="+gnupgHome)
		if out, err := kill.CombinedOutput(); err != nil {
			t.Errorf("gpgconf --kill gpg-agent: %v\n%s", err, out)
		}
	})
	runProgram(t, "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", "flux-mirror test <test@example.invalid>", "default", "default", "never")
	var fingerprint string
	for line := range strings.Lines(runProgram(t, "gpg", "--batch", "--with-colons", "--list-secret-keys")) {
		// --with-colons: field 10 of the first fpr record is the primary
		// key's fingerprint (GnuPG doc/DETAILS).
		if fields := strings.Split(line, ":"); fields[0] == "fpr" && len(fields) > 9 {
			fingerprint = fields[9]
			break
		}
	}
	if fingerprint == "" {
		t.Fatal("gpg listed no fingerprint for the generated key")
	}
	runProgram(t, "pass", "init", fingerprint)
	return storeDir
}

// checkPassStore checks that the store holds one encrypted entry for the
// host under docker-credential-helpers/<base64url(server URL)>/<user>.gpg
// (the helper's layout, pass/pass.go). The secret sweep after each login
// shows no file holds the secret in plaintext.
func checkPassStore(t *testing.T, storeDir string) {
	t.Helper()
	hostDir := filepath.Join(storeDir, "docker-credential-helpers", base64.URLEncoding.EncodeToString([]byte(passTestHost)))
	entries, err := os.ReadDir(hostDir)
	if err != nil {
		t.Fatalf("pass store has no entry for %s: %v", passTestHost, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{passTestUser + ".gpg"}; !slices.Equal(names, want) {
		t.Errorf("pass store entries for %s = %q, want %q", passTestHost, names, want)
	}
	entry, err := os.ReadFile(filepath.Join(hostDir, passTestUser+".gpg"))
	if err != nil {
		t.Fatal(err)
	}
	// An OpenPGP message starts with a packet tag, whose top bit is always
	// set (RFC 9580 section 4.2); a plaintext secret of ours never does.
	if len(entry) == 0 || entry[0]&0x80 == 0 {
		t.Errorf("pass entry for %s is not an OpenPGP message", passTestHost)
	}
}

// checkHelperGet asks docker-credential-pass for the host's credential the
// way docker does: the server URL on stdin, with no newline.
func checkHelperGet(t *testing.T, secret string) {
	t.Helper()
	get := exec.Command("docker-credential-pass", "get")
	get.Stdin = strings.NewReader(passTestHost)
	var stderr bytes.Buffer
	get.Stderr = &stderr
	get.WaitDelay = 10 * time.Second
	// stdout holds the secret: it is never printed, not even on failure.
	out, err := get.Output()
	if err != nil {
		t.Fatalf("docker-credential-pass get: %v\n%s", err, stderr.Bytes())
	}
	var creds struct{ ServerURL, Username, Secret string }
	if err := json.Unmarshal(out, &creds); err != nil {
		t.Fatalf("docker-credential-pass get: answer is not the protocol's JSON: %v", err)
	}
	if creds.ServerURL != passTestHost || creds.Username != passTestUser {
		t.Errorf("docker-credential-pass get: ServerURL %q, Username %q; want %q, %q", creds.ServerURL, creds.Username, passTestHost, passTestUser)
	}
	if creds.Secret != secret {
		t.Error("docker-credential-pass get: Secret is not the one last logged in")
	}
}

// checkDefaultKeychain resolves an image on the host with
// go-containerregistry's DefaultKeychain, which reads DOCKER_CONFIG (HOME
// has no .docker) and runs the helper config.json names.
func checkDefaultKeychain(t *testing.T, secret string) {
	t.Helper()
	ref, err := name.ParseReference(passTestHost + "/team/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := authn.DefaultKeychain.Resolve(ref.Context())
	if err != nil {
		t.Fatalf("DefaultKeychain.Resolve: %v", err)
	}
	cfg, err := auth.Authorization()
	if err != nil {
		t.Fatalf("DefaultKeychain authorization: %v", err)
	}
	if cfg.Username != passTestUser {
		t.Errorf("DefaultKeychain username = %q, want %q", cfg.Username, passTestUser)
	}
	if cfg.Password != secret {
		t.Error("DefaultKeychain password is not the one last logged in")
	}
	if cfg.RegistryToken != "" || cfg.IdentityToken != "" || cfg.Auth != "" {
		t.Error("DefaultKeychain found a token or an auth field besides the username/password pair")
	}
}

// readConfigJSON reads a config.json and checks that no form of secret a
// reader could decode is in it: the secret itself, or base64 of it or of
// user:secret (the auth field's form).
func readConfigJSON(t *testing.T, path, secret string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{
		secret,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.StdEncoding.EncodeToString([]byte(passTestUser + ":" + secret)),
	} {
		if bytes.Contains(b, []byte(form)) {
			t.Fatalf("%s holds the secret", path)
		}
	}
	return string(b)
}

// runRealLogin runs the tool in-process with args and an empty stdin and
// returns its exit code, stdout and stderr.
func runRealLogin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// runProgram runs a program that handles no secret and returns its stdout;
// it fails the test with stderr when the program fails.
func runProgram(t *testing.T, program string, args ...string) string {
	t.Helper()
	cmd := exec.Command(program, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// A daemon that inherited a pipe would keep Wait waiting for ever.
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", program, strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// randomSecret returns a fresh secret for one login, so that a stale value
// from an earlier run can never pass a check.
func randomSecret() string {
	return "s3cret-" + rand.Text()
}

// uniqueStrings returns its arguments in order, without repeats.
func uniqueStrings(s ...string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
