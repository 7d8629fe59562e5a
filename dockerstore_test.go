package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Test secrets; every test that uses one checks that no output, and no file
// of its store world but config.json, holds it.
const (
	testPassword = "s3cret-p@ss"
	testToken    = "tok.en-value"
)

// testLockWait bounds a test's wait for the Docker config lock, which no
// other run holds.
const testLockWait = time.Minute

// storeWorld gives a test a hermetic world for the Docker store: an empty
// HOME, its own DOCKER_CONFIG folder (not created), and a PATH holding only
// bin, where the test puts fake helpers. It returns the config folder and
// bin; the config folder's parent is the world's root, which secret checks
// sweep.
func storeWorld(t *testing.T) (dir, bin string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake helpers are sh scripts")
	}
	root := t.TempDir()
	dir = filepath.Join(root, "docker")
	bin = filepath.Join(root, "bin")
	home := filepath.Join(root, "home")
	for _, d := range []string{bin, home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("PATH", bin)
	for _, k := range []string{"XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE", "DOCKER_AUTH_CONFIG", "FAKE_HELPER_FAIL"} {
		t.Setenv(k, "")
	}
	return dir, bin
}

// writeConfig writes config.json in dir, creating dir.
func writeConfig(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, configFileName), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readFile returns path's content, or "<missing>".
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// storeOnce opens dir, stores each credential, saves and closes, as one
// login run does. It fails the test on any error, and if a test secret
// shows in the helpers' stderr or in a file of the store world.
func storeOnce(t *testing.T, dir string, plaintext bool, creds map[string]hostAuth) map[string]destination {
	t.Helper()
	s, err := openDockerStore(dir, testLockWait)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var stderr bytes.Buffer
	s.helperStderr = &stderr
	dests := map[string]destination{}
	for host, a := range creds {
		d, err := s.store(context.Background(), host, a, plaintext)
		if err != nil {
			t.Fatalf("store %s: %v", host, err)
		}
		dests[host] = d
	}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	checkNoSecrets(t, []string{testPassword, testToken}, filepath.Dir(dir), nil, stderr.String())
	return dests
}

// checkGolden compares got with testdata/dockerstore/name; go test -update
// rewrites the file.
func checkGolden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", "dockerstore", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

func TestDockerConfigDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "/env/docker")
	for _, tc := range []struct{ flag, env, want string }{
		{"/flag/docker", "/env/docker", "/flag/docker"},
		{"", "/env/docker", "/env/docker"},
		{"", "", filepath.Join(home, ".docker")},
	} {
		t.Setenv("DOCKER_CONFIG", tc.env)
		got, err := dockerConfigDir(tc.flag)
		if err != nil || got != tc.want {
			t.Errorf("flag %q, DOCKER_CONFIG %q: %q, %v; want %q", tc.flag, tc.env, got, err, tc.want)
		}
	}
}

func TestStoreFreshFile(t *testing.T) {
	for _, tc := range []struct {
		golden string
		host   string
		auth   hostAuth
	}{
		{"userpass.json", "ghcr.io", hostAuth{Username: "user", Password: testPassword}},
		{"registrytoken.json", "registry.example.com:5000", hostAuth{RegistryToken: testToken}},
		{"dockerhub.json", "docker.io", hostAuth{Username: "user", Password: testPassword}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			dir, _ := storeWorld(t)
			dests := storeOnce(t, dir, false, map[string]hostAuth{tc.host: tc.auth})
			path := filepath.Join(dir, configFileName)
			if want := (destination{Path: path}); dests[tc.host] != want {
				t.Errorf("destination %+v, want %+v", dests[tc.host], want)
			}
			checkGolden(t, tc.golden, readFile(t, path))
			checkMode(t, path, 0o600)
			checkMode(t, dir, fs.ModeDir|0o700)
		})
	}
}

// checkMode fails the test unless path has mode want.
func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() &^ (fs.ModeSetgid | fs.ModeSticky); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}

func TestStoreKeepsUnknownKeys(t *testing.T) {
	dir, _ := storeWorld(t)
	in, err := os.ReadFile(filepath.Join("testdata", "dockerstore", "unknown-keys.in.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, string(in))
	storeOnce(t, dir, true, map[string]hostAuth{"ghcr.io": {Username: "user", Password: testPassword}})
	out := readFile(t, filepath.Join(dir, configFileName))
	checkGolden(t, "unknown-keys.json", out)

	// Everything but the stored entry is semantically what it was.
	var before, after map[string]any
	if err := json.Unmarshal(in, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &after); err != nil {
		t.Fatal(err)
	}
	before["auths"].(map[string]any)["ghcr.io"] = map[string]any{"auth": "dXNlcjpzM2NyZXQtcEBzcw=="}
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if !bytes.Equal(b1, b2) {
		t.Errorf("config changed beyond the stored entry:\n%s\n%s", b1, b2)
	}
}

func TestStoreRefusesUnreadableUsername(t *testing.T) {
	dir, _ := storeWorld(t)
	s, err := openDockerStore(dir, testLockWait)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for _, a := range []hostAuth{{Password: testPassword}, {Username: "a:b", Password: testPassword}} {
		if _, err := s.store(context.Background(), "ghcr.io", a, true); err == nil {
			t.Errorf("username %q stored", a.Username)
		} else {
			checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, err.Error())
		}
	}
}

func TestErase(t *testing.T) {
	dir, bin := storeWorld(t)
	rec := fakeHelper(t, bin, "fake")
	writeConfig(t, dir, `{"auths":{"quay.io":{"registrytoken":"`+testToken+`"},"ghcr.io":{"auth":"dXNlcjpwYXNz"}},"credHelpers":{"docker.io":"x","https://index.docker.io/v1/":"fake"}}`)
	storeOnce(t, dir, false, map[string]hostAuth{"docker.io": {Username: "user", Password: testPassword}})

	s, err := openDockerStore(dir, testLockWait)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, configFileName)
	for _, tc := range []struct {
		host   string
		dest   destination
		erased bool
	}{
		{"docker.io", destination{Helper: "fake", Path: path}, true},
		{"index.docker.io", destination{Path: path}, false}, // already gone: no helper named
		{"quay.io", destination{Path: path}, true},
		{"ghcr.io", destination{Path: path}, true},
		{"ghcr.io", destination{Path: path}, false},
	} {
		dest, erased, err := s.erase(context.Background(), tc.host)
		if err != nil || dest != tc.dest || erased != tc.erased {
			t.Errorf("erase %s: %+v, %v, %v; want %+v, %v", tc.host, dest, erased, err, tc.dest, tc.erased)
		}
	}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	s.close()
	if got := readFile(t, filepath.Join(rec, "fake.argv")); got != "store\nerase\nerase\n" {
		t.Errorf("helper argv %q", got)
	}
	if got := readFile(t, filepath.Join(rec, "fake.erase")); got != dockerHubKey+dockerHubKey {
		t.Errorf("helper erase stdin %q", got)
	}
	checkGolden(t, "erased.json", readFile(t, path))

	// A helper failing otherwise than "not found" is an error.
	t.Setenv("FAKE_HELPER_FAIL", "keychain locked")
	s, err = openDockerStore(dir, testLockWait)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if _, _, err := s.erase(context.Background(), "docker.io"); err == nil || err.Error() != "docker-credential-fake erase: keychain locked" {
		t.Errorf("erase error %v", err)
	}
}

func TestKeychainReadsBack(t *testing.T) {
	dir, bin := storeWorld(t)
	fakeHelper(t, bin, "fake")
	writeConfig(t, dir, `{"credHelpers":{"helper.example.com":"fake"}}`)
	storeOnce(t, dir, false, map[string]hostAuth{
		"ghcr.io":              {Username: "user", Password: testPassword},
		"registry-1.docker.io": {Username: "hubuser", Password: testPassword},
		"token.example.com":    {RegistryToken: testToken},
		"helper.example.com":   {Username: "helperuser", Password: testPassword},
	})
	for ref, want := range map[string]string{
		"ghcr.io/org/app":             "username=user password=" + testPassword + " registrytoken=",
		"index.docker.io/library/x":   "username=hubuser password=" + testPassword + " registrytoken=",
		"x":                           "username=hubuser password=" + testPassword + " registrytoken=",
		"token.example.com/app:v1":    "username= password= registrytoken=" + testToken,
		"helper.example.com/team/app": "username=helperuser password=" + testPassword + " registrytoken=",
		"quay.io/other":               "username= password= registrytoken=",
	} {
		ac, err := keychainAuth(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		got := fmt.Sprintf("username=%s password=%s registrytoken=%s", ac.Username, ac.Password, ac.RegistryToken)
		if got != want {
			t.Errorf("%s: read back %q", ref, strings.NewReplacer(testPassword, "<secret>", testToken, "<token>").Replace(got))
		}
	}
}
