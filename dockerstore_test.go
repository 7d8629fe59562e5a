package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Test secrets; every test that uses one checks that no output, and no file
// of its store world but config.json, holds it.
const (
	testPassword = "s3cret-p@ss"
	testToken    = "tok.en-value"
)

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

// fakeHelper puts a recording docker-credential-name into bin and returns
// the folder it records in.
func fakeHelper(t *testing.T, bin, name string) (rec string) {
	t.Helper()
	rec = t.TempDir()
	if err := writeFakeHelper(bin, rec, name); err != nil {
		t.Fatal(err)
	}
	return rec
}

// fakeProgram puts an executable sh script named name into bin.
func fakeProgram(t *testing.T, bin, name, body string) {
	t.Helper()
	script := "#!/bin/sh\nPATH=/usr/bin:/bin\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
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
	s, err := openDockerStore(dir)
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

func TestRegistryKey(t *testing.T) {
	for host, want := range map[string]string{
		"docker.io":            dockerHubKey,
		"index.docker.io":      dockerHubKey,
		"registry-1.docker.io": dockerHubKey,
		"ghcr.io":              "ghcr.io",
		"localhost:5000":       "localhost:5000",
		"reg.example.com:443":  "reg.example.com:443",
		"Docker.io":            "Docker.io",
		"docker.io:443":        "docker.io:443",
	} {
		if got := registryKey(host); got != want {
			t.Errorf("registryKey(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestCheckAuthEntry(t *testing.T) {
	for _, tc := range []struct {
		entry string
		err   string
	}{
		{`{}`, ""},
		{`{"auth":""}`, ""},
		{`{"auth":"dXNlcjpwYXNz"}`, ""},              // user:pass
		{`{"auth":"dXNlcjo="}`, ""},                  // user:
		{`{"auth":"dXNlcjpwOmFzcw=="}`, ""},          // user:p:ass
		{`{"auth":"dXNlcjpwYXNz", "email":"x"}`, ""}, // unknown keys are not checked
		{`{"auth":"dXNlcjpwYXNz!"}`, "not valid base64"},
		{`{"auth":"dXNlcjpwYXM"}`, "not valid base64"},  // missing padding
		{`{"auth":"dXNlcjpwYXM_"}`, "not valid base64"}, // URL alphabet
		{`{"auth":"dXNlcnBhc3M="}`, "no ':'"},           // userpass
		{`{"auth":"OnBhc3M="}`, "empty username"},       // :pass
		{`{"auth":42}`, "not a string"},
	} {
		var entry authEntry
		if err := json.Unmarshal([]byte(tc.entry), &entry); err != nil {
			t.Fatal(err)
		}
		err := checkAuthEntry(entry)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.entry, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one containing %q", tc.entry, err, tc.err)
		}
	}
}

func TestDefaultHelper(t *testing.T) {
	for _, tc := range []struct {
		goos    string
		onPath  string
		want    string
		comment string
	}{
		{"darwin", "docker-credential-osxkeychain", "osxkeychain", ""},
		{"darwin", "", "", "helper missing"},
		{"windows", "docker-credential-wincred", "wincred", ""},
		{"linux", "pass docker-credential-pass", "pass", ""},
		{"linux", "pass docker-credential-secretservice", "", "pass wins, and its helper is missing"},
		{"linux", "docker-credential-secretservice", "secretservice", ""},
		{"linux", "docker-credential-pass", "", "no pass program: secretservice, which is missing"},
		{"freebsd", "docker-credential-pass docker-credential-secretservice", "", "no platform default"},
	} {
		lookPath := func(name string) (string, error) {
			if strings.Contains(" "+tc.onPath+" ", " "+name+" ") {
				return "/bin/" + name, nil
			}
			return "", exec.ErrNotFound
		}
		if got := defaultHelper(tc.goos, lookPath); got != tc.want {
			t.Errorf("%s with %q on PATH (%s): %q, want %q", tc.goos, tc.onPath, tc.comment, got, tc.want)
		}
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

func TestEncode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "{\n\t\"auths\": {}\n}"},
		{`{}`, "{\n\t\"auths\": {}\n}"},
		// auths first, then Go's byte order: upper case before lower case.
		{`{"proxies":{"default":{"httpProxy":"http://p:3128"}},"HttpHeaders":{"X-Meta":"a&b"},"auths":{"b":{},"a":{"auth":"dTpw"}},"credsStore":"pass"}`,
			"{\n\t\"auths\": {\n\t\t\"a\": {\n\t\t\t\"auth\": \"dTpw\"\n\t\t},\n\t\t\"b\": {}\n\t},\n\t\"HttpHeaders\": {\n\t\t\"X-Meta\": \"a\\u0026b\"\n\t},\n\t\"credsStore\": \"pass\",\n\t\"proxies\": {\n\t\t\"default\": {\n\t\t\t\"httpProxy\": \"http://p:3128\"\n\t\t}\n\t}\n}"},
		// Values are kept as written, numbers included.
		{`{"auths":{},"x":[1.50,2e3,null,true]}`, "{\n\t\"auths\": {},\n\t\"x\": [\n\t\t1.50,\n\t\t2e3,\n\t\tnull,\n\t\ttrue\n\t]\n}"},
	} {
		c, err := parseDockerConfig([]byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		got, err := c.encode()
		if err != nil || string(got) != tc.want {
			t.Errorf("encode(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
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

func TestOpenRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct{ name, content, err string }{
		{"not JSON", `{"auths": {`, "not valid JSON"},
		{"trailing garbage", `{"auths": {}} x`, "not valid JSON"},
		{"not an object", `["auths"]`, "not a JSON object"},
		{"auths not an object", `{"auths": []}`, "auths: not an object"},
		{"auth not base64", `{"auths": {"ghcr.io": {"auth": "s3cret-p@ss"}}}`, `auths["ghcr.io"]: auth: not valid base64`},
		{"auth without colon", `{"auths": {"ghcr.io": {"auth": "czNjcmV0LXBAc3M="}}}`, "no ':'"},
		{"auth with empty user", `{"auths": {"ghcr.io": {"auth": "OnMzY3JldC1wQHNz"}}}`, "empty username"},
		{"credsStore not a string", `{"auths": {}, "credsStore": 1}`, "credsStore: not a string"},
		{"credHelpers not strings", `{"auths": {}, "credHelpers": {"ghcr.io": true}}`, "credHelpers: not an object of strings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := storeWorld(t)
			writeConfig(t, dir, tc.content)
			s, err := openDockerStore(dir)
			if err == nil {
				s.close()
				t.Fatal("opened")
			}
			checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, err.Error())
			path := filepath.Join(dir, configFileName)
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %q, want one naming %s and containing %q", err, path, tc.err)
			}
			if got := readFile(t, path); got != tc.content {
				t.Errorf("config.json changed to %q", got)
			}
			checkNoTempFiles(t, dir)
			// The lock is released: the folder can be opened again.
			writeConfig(t, dir, `{}`)
			s, err = openDockerStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			s.close()
		})
	}
}

// checkNoTempFiles fails the test if dir holds anything but config.json
// and its lock file.
func checkNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != configFileName && e.Name() != configFileName+".lock" {
			t.Errorf("%s left in %s", e.Name(), dir)
		}
	}
}

func TestHelperChoice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("platform detection is tested for linux")
	}
	for _, tc := range []struct {
		name      string
		config    string // "" for no config.json
		plaintext bool
		onPath    []string // fake programs besides docker-credential-chosen/other
		host      string
		want      string // helper, "" for config.json
	}{
		{"credHelpers wins", `{"credsStore":"other","credHelpers":{"ghcr.io":"chosen"}}`, false, nil, "ghcr.io", "chosen"},
		{"credHelpers by Hub key", `{"credsStore":"other","credHelpers":{"https://index.docker.io/v1/":"chosen"}}`, false, nil, "registry-1.docker.io", "chosen"},
		{"credHelpers of another host", `{"credsStore":"chosen","credHelpers":{"quay.io":"other"}}`, false, nil, "ghcr.io", "chosen"},
		{"empty credHelpers entry means the file", `{"credsStore":"other","credHelpers":{"ghcr.io":""}}`, false, nil, "ghcr.io", ""},
		{"credsStore", `{"credsStore":"chosen"}`, false, nil, "ghcr.io", "chosen"},
		{"plaintext beats credHelpers", `{"credsStore":"other","credHelpers":{"ghcr.io":"other"}}`, true, nil, "ghcr.io", ""},
		{"detected pass on a missing file", "", false, []string{"pass", "docker-credential-pass"}, "ghcr.io", "pass"},
		{"detected pass on an empty auths", `{"auths":{}}`, false, []string{"pass", "docker-credential-pass"}, "ghcr.io", "pass"},
		{"detected secretservice", `{}`, false, []string{"docker-credential-secretservice"}, "ghcr.io", "secretservice"},
		{"pass without its helper", `{}`, false, []string{"pass", "docker-credential-secretservice"}, "ghcr.io", ""},
		{"no detection with an auths entry", `{"auths":{"quay.io":{}}}`, false, []string{"pass", "docker-credential-pass"}, "ghcr.io", ""},
		{"no detection with plaintext", `{}`, true, []string{"pass", "docker-credential-pass"}, "ghcr.io", ""},
		{"no helper on PATH", `{}`, false, []string{"pass"}, "ghcr.io", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, bin := storeWorld(t)
			if tc.config != "" {
				writeConfig(t, dir, tc.config)
			}
			recs := map[string]string{}
			for _, name := range []string{"chosen", "other", "pass", "secretservice"} {
				recs[name] = fakeHelper(t, bin, name)
			}
			for _, name := range []string{"docker-credential-pass", "docker-credential-secretservice"} {
				os.Remove(filepath.Join(bin, name))
			}
			for _, name := range tc.onPath {
				if h, ok := strings.CutPrefix(name, helperPrefix); ok {
					writeFakeHelper(bin, recs[h], h)
				} else {
					fakeProgram(t, bin, name, "exit 0")
				}
			}
			a := hostAuth{Username: "user", Password: testPassword}
			s, err := openDockerStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			path := filepath.Join(dir, configFileName)
			want := destination{Helper: tc.want, Path: path}
			if got := s.where(tc.host, a, tc.plaintext); got != want {
				t.Errorf("where: %+v, want %+v", got, want)
			}
			if got := s.where(tc.host, hostAuth{RegistryToken: testToken}, tc.plaintext); got != (destination{Path: path}) {
				t.Errorf("where for a registry token: %+v, want config.json", got)
			}
			got, err := s.store(context.Background(), tc.host, a, tc.plaintext)
			checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, fmt.Sprint(err))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("store: %+v, want %+v", got, want)
			}
			for name, rec := range recs {
				argv := readFile(t, filepath.Join(rec, name+".argv"))
				if name == tc.want && argv != "store\n" {
					t.Errorf("helper %s got argv %q, want store", name, argv)
				}
				if name != tc.want && argv != "<missing>" {
					t.Errorf("helper %s ran: %q", name, argv)
				}
			}
		})
	}
}

func TestHelperStore(t *testing.T) {
	dir, bin := storeWorld(t)
	rec := fakeHelper(t, bin, "fake")
	writeConfig(t, dir, `{"auths":{"ghcr.io":{"auth":"b2xkOnBhc3M=","registrytoken":"`+testToken+`","email":"me@example.com"},"docker.io":{"auth":"b2xkOnBhc3M="}},"credsStore":"fake"}`)
	var stderr bytes.Buffer
	s, err := openDockerStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.helperStderr = &stderr
	for _, host := range []string{"ghcr.io", "index.docker.io", "quay.io"} {
		dest, err := s.store(context.Background(), host, hostAuth{Username: "user", Password: testPassword}, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := (destination{Helper: "fake", Path: filepath.Join(dir, configFileName)}); dest != want {
			t.Errorf("%s: destination %+v, want %+v", host, dest, want)
		}
	}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	s.close()
	checkNoSecrets(t, []string{testPassword, testToken}, filepath.Dir(dir), nil, stderr.String())

	if got := readFile(t, filepath.Join(rec, "fake.argv")); got != "store\nstore\nstore\n" {
		t.Errorf("helper argv %q", got)
	}
	wantStdin := `{"ServerURL":"ghcr.io","Username":"user","Secret":"s3cret-p@ss"}` + "\n" +
		`{"ServerURL":"https://index.docker.io/v1/","Username":"user","Secret":"s3cret-p@ss"}` + "\n" +
		`{"ServerURL":"quay.io","Username":"user","Secret":"s3cret-p@ss"}` + "\n"
	if got := readFile(t, filepath.Join(rec, "fake.stdin")); got != wantStdin {
		t.Errorf("helper stdin differs: %q", strings.ReplaceAll(got, testPassword, "<secret>"))
	}
	// The plaintext auths are scrubbed, the registry token stays, and the
	// Hub entry is under the Hub key (the docker.io key was not the Hub's).
	checkGolden(t, "helper-store.json", readFile(t, filepath.Join(dir, configFileName)))
}

func TestRegistryTokenNeverToHelper(t *testing.T) {
	for _, plaintext := range []bool{false, true} {
		dir, bin := storeWorld(t)
		rec := fakeHelper(t, bin, "fake")
		writeConfig(t, dir, `{"auths":{"ghcr.io":{"auth":"b2xkOnBhc3M=","x":1}},"credsStore":"fake","credHelpers":{"ghcr.io":"fake"}}`)
		storeOnce(t, dir, plaintext, map[string]hostAuth{"ghcr.io": {RegistryToken: testToken}})
		if got := readFile(t, filepath.Join(rec, "fake.argv")); got != "<missing>" {
			t.Errorf("plaintext=%v: the helper ran: %q", plaintext, got)
		}
		checkGolden(t, "registrytoken-with-helper.json", readFile(t, filepath.Join(dir, configFileName)))
	}
}

func TestPlaintextBypassesHelpers(t *testing.T) {
	dir, bin := storeWorld(t)
	rec := fakeHelper(t, bin, "fake")
	writeConfig(t, dir, `{"auths":{},"credsStore":"fake","credHelpers":{"ghcr.io":"fake"}}`)
	storeOnce(t, dir, true, map[string]hostAuth{"ghcr.io": {Username: "user", Password: testPassword}})
	if got := readFile(t, filepath.Join(rec, "fake.argv")); got != "<missing>" {
		t.Errorf("the helper ran: %q", got)
	}
	checkGolden(t, "plaintext-with-helper.json", readFile(t, filepath.Join(dir, configFileName)))
}

func TestStoreRefusesUnreadableUsername(t *testing.T) {
	dir, _ := storeWorld(t)
	s, err := openDockerStore(dir)
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

func TestDetectedHelperPersistedAfterStore(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("platform detection is tested for linux")
	}
	dir, bin := storeWorld(t)
	fakeProgram(t, bin, "pass", "exit 0")
	rec := fakeHelper(t, bin, "pass")
	path := filepath.Join(dir, configFileName)

	// A registry token does not go through the detected helper: no
	// credsStore is written.
	storeOnce(t, dir, false, map[string]hostAuth{"a.example.com": {RegistryToken: testToken}})
	if got := readFile(t, path); strings.Contains(got, "credsStore") {
		t.Errorf("credsStore persisted before any helper store:\n%s", got)
	}
	os.Remove(path)

	// A failing helper store persists nothing.
	t.Setenv("FAKE_HELPER_FAIL", "pass not initialized")
	s, err := openDockerStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.store(context.Background(), "b.example.com", hostAuth{Username: "user", Password: testPassword}, false)
	if err == nil || err.Error() != "docker-credential-pass store: pass not initialized" {
		t.Errorf("error %v", err)
	}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	s.close()
	if got := readFile(t, path); got != "<missing>" {
		t.Errorf("config.json written after a failed helper store:\n%s", got)
	}

	// Fresh is judged on the config as loaded: the registry token stored
	// first in the same run does not stop detection for the next host.
	t.Setenv("FAKE_HELPER_FAIL", "")
	s, err = openDockerStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store(context.Background(), "a.example.com", hostAuth{RegistryToken: testToken}, false); err != nil {
		t.Fatal(err)
	}
	dest, err := s.store(context.Background(), "b.example.com", hostAuth{Username: "user", Password: testPassword}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	s.close()
	if dest.Helper != "pass" {
		t.Errorf("b.example.com stored in %+v, want the pass helper", dest)
	}
	if got := readFile(t, filepath.Join(rec, "pass.argv")); got != "store\nstore\n" {
		t.Errorf("pass helper argv %q", got)
	}
	checkGolden(t, "detected.json", readFile(t, path))
}

func TestHelperFailure(t *testing.T) {
	const jsonSecret = `p"ss<&>word`
	for _, tc := range []struct {
		name   string
		helper string // fake docker-credential-fake body; "" for none
		secret string
		want   string
	}{
		{"message on stdout", "cat >/dev/null; echo '  pass not initialized: exit status 1  '; exit 1", testPassword,
			"docker-credential-fake store: pass not initialized: exit status 1"},
		{"no message", "exit 3", testPassword, "docker-credential-fake store: exit status 3"},
		{"echoes stdin", "cat; exit 1", testPassword,
			"docker-credential-fake store: exit status 1 (its message is withheld because it contains the secret)"},
		{"echoes the JSON-escaped secret", "cat; exit 1", jsonSecret,
			"docker-credential-fake store: exit status 1 (its message is withheld because it contains the secret)"},
		{"prints the secret", "sed -n 's/.*Secret\":\"\\([^\"]*\\)\".*/\\1/p'; exit 1", testPassword,
			"docker-credential-fake store: exit status 1 (its message is withheld because it contains the secret)"},
		{"missing", "", testPassword,
			"docker-credential-fake store: docker-credential-fake not found in $PATH; install it, or use --plaintext to store the credential in config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, bin := storeWorld(t)
			if tc.helper != "" {
				fakeProgram(t, bin, "docker-credential-fake", tc.helper)
			}
			content := `{"auths":{"ghcr.io":{"auth":"b2xkOnBhc3M="}},"credsStore":"fake"}`
			writeConfig(t, dir, content)
			s, err := openDockerStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			var stderr bytes.Buffer
			s.helperStderr = &stderr
			_, err = s.store(context.Background(), "ghcr.io", hostAuth{Username: "user", Password: tc.secret}, false)
			if err == nil {
				t.Fatal("stored")
			}
			quoted, _ := json.Marshal(tc.secret)
			checkNoSecrets(t, []string{tc.secret, string(quoted[1 : len(quoted)-1])}, filepath.Dir(dir), nil, err.Error(), stderr.String())
			if err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			if err := s.save(); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(dir, configFileName)); got != content {
				t.Errorf("config.json changed to %s", got)
			}
		})
	}
}

func TestHelperTimeout(t *testing.T) {
	dir, bin := storeWorld(t)
	fakeProgram(t, bin, "docker-credential-slow", "exec sleep 60")
	writeConfig(t, dir, `{"credsStore":"slow"}`)
	s, err := openDockerStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.store(ctx, "ghcr.io", hostAuth{Username: "user", Password: testPassword}, false)
	checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, fmt.Sprint(err))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "docker-credential-slow store: ") {
		t.Errorf("error %v, want the deadline", err)
	}
	// Generous: the helper sleeps a minute.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("store took %v", d)
	}
}

func TestMaliciousHelperNameRefused(t *testing.T) {
	for _, name := range []string{"../evil", "x/../../evil", `..\evil`, ".evil", "/evil"} {
		t.Run(name, func(t *testing.T) {
			dir, bin := storeWorld(t)
			cwd := t.TempDir()
			t.Chdir(cwd)
			marker := filepath.Join(cwd, "ran")
			// Every program the name could reach, relative to the working
			// folder or to bin, would leave a marker.
			body := ": > '" + marker + "'"
			os.Mkdir(filepath.Join(cwd, "docker-credential-x"), 0o755)
			for _, p := range []string{
				filepath.Join(cwd, "docker-credential-..", "evil"),
				filepath.Join(filepath.Dir(cwd), "evil"), // docker-credential-x/../../evil
				filepath.Join(bin, `docker-credential-..\evil`),
				filepath.Join(bin, "docker-credential-.evil"),
				filepath.Join(cwd, "docker-credential-", "evil"),
			} {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			nameJSON, _ := json.Marshal(name)
			for _, config := range []string{
				`{"credsStore":` + string(nameJSON) + `}`,
				`{"credHelpers":{"ghcr.io":` + string(nameJSON) + `}}`,
			} {
				writeConfig(t, dir, config)
				s, err := openDockerStore(dir)
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.store(context.Background(), "ghcr.io", hostAuth{Username: "user", Password: testPassword}, false)
				checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, fmt.Sprint(err))
				if err == nil || !strings.Contains(err.Error(), "refused") {
					t.Errorf("%s: error %v, want a refusal", config, err)
				}
				if _, _, err := s.erase(context.Background(), "ghcr.io"); err == nil || !strings.Contains(err.Error(), "refused") {
					t.Errorf("%s: erase error %v, want a refusal", config, err)
				}
				s.close()
				if _, err := os.Stat(marker); err == nil {
					t.Fatalf("%s: the helper ran", config)
				}
			}
		})
	}
}

func TestUnchangedNotRewritten(t *testing.T) {
	dir, bin := storeWorld(t)
	fakeHelper(t, bin, "fake")
	// Not docker's formatting, and a helper entry already {}: storing the
	// same credentials again changes nothing.
	content := `{"credsStore": "fake", "auths": {"quay.io": {}, "ghcr.io": {"auth": "dXNlcjpzM2NyZXQtcEBzcw=="}}}`
	writeConfig(t, dir, content)
	path := filepath.Join(dir, configFileName)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	storeOnce(t, dir, true, map[string]hostAuth{"ghcr.io": {Username: "user", Password: testPassword}})
	storeOnce(t, dir, false, map[string]hostAuth{"quay.io": {Username: "user", Password: testPassword}})
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(old) {
		t.Errorf("config.json rewritten (same file %v, mtime %v)", os.SameFile(before, after), after.ModTime())
	}
	if got := readFile(t, path); got != content {
		t.Errorf("config.json changed to %s", got)
	}
}

func TestModeKept(t *testing.T) {
	dir, _ := storeWorld(t)
	writeConfig(t, dir, `{}`)
	path := filepath.Join(dir, configFileName)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	storeOnce(t, dir, true, map[string]hostAuth{"ghcr.io": {Username: "user", Password: testPassword}})
	checkMode(t, path, 0o644)
	if got := readFile(t, path); !strings.Contains(got, "ghcr.io") {
		t.Errorf("not stored:\n%s", got)
	}
}

func TestSymlinkWrittenThrough(t *testing.T) {
	for _, tc := range []struct {
		name    string
		link    string // config.json's link target, relative to the docker folder
		content string // the target's content; "" for none
	}{
		{"relative", "../real/config.json", `{"auths":{"quay.io":{}}}`},
		{"chain", "link2.json", `{"auths":{"quay.io":{}}}`},
		{"dangling", "../real/config.json", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := storeWorld(t)
			real := filepath.Join(filepath.Dir(dir), "real")
			for _, d := range []string{dir, real} {
				if err := os.MkdirAll(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			target := filepath.Join(real, configFileName)
			if tc.content != "" {
				if err := os.WriteFile(target, []byte(tc.content), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if tc.link == "link2.json" {
				if err := os.Symlink(target, filepath.Join(dir, "link2.json")); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, configFileName)
			if err := os.Symlink(tc.link, path); err != nil {
				t.Fatal(err)
			}
			storeOnce(t, dir, true, map[string]hostAuth{"ghcr.io": {Username: "user", Password: testPassword}})
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Fatalf("config.json is no longer a symlink (%v)", err)
			}
			got := readFile(t, target)
			if !strings.Contains(got, `"ghcr.io"`) || (tc.content != "" && !strings.Contains(got, `"quay.io"`)) {
				t.Errorf("target not updated:\n%s", got)
			}
			want := fs.FileMode(0o640)
			if tc.content == "" {
				want = 0o600
			}
			checkMode(t, target, want)
			entries, _ := os.ReadDir(real)
			if len(entries) != 1 {
				t.Errorf("%d files beside the target, want 1", len(entries))
			}
		})
	}
}

func TestReadOnlyFolder(t *testing.T) {
	dir, _ := storeWorld(t)
	content := `{"auths":{"quay.io":{}}}`
	writeConfig(t, dir, content)
	// Open first, so that the lock file exists and the failure is the write.
	s, err := openDockerStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	makeReadOnly(t, dir)
	if _, err := s.store(context.Background(), "ghcr.io", hostAuth{Username: "user", Password: testPassword}, true); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, configFileName)
	err = s.save()
	checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, fmt.Sprint(err))
	if err == nil || !strings.HasPrefix(err.Error(), "writing "+path+": ") {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
	if got := readFile(t, path); got != content {
		t.Errorf("config.json changed to %s", got)
	}
	checkNoTempFiles(t, dir)
}

// makeReadOnly stops anyone, root included, from creating files in dir,
// until the test ends.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	// Permissions do not stop root; the immutable attribute does.
	chattr, err := exec.LookPath("/usr/bin/chattr")
	if err != nil {
		t.Skip("running as root without chattr")
	}
	if out, err := exec.Command(chattr, "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("chattr +i: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command(chattr, "-i", dir).Run() })
}

func TestRenameFallback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		inPlace  bool
		wantFail bool
	}{
		{"busy: bind-mounted file", syscall.EBUSY, true, false},
		{"cross-device", syscall.EXDEV, true, false},
		{"other error", syscall.EACCES, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := storeWorld(t)
			content := `{"auths":{"quay.io":{}}}`
			writeConfig(t, dir, content)
			path := filepath.Join(dir, configFileName)
			before, _ := os.Stat(path)
			s, err := openDockerStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			s.rename = func(oldpath, newpath string) error {
				return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: tc.err}
			}
			if _, err := s.store(context.Background(), "ghcr.io", hostAuth{Username: "user", Password: testPassword}, true); err != nil {
				t.Fatal(err)
			}
			err = s.save()
			checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, fmt.Sprint(err))
			if (err != nil) != tc.wantFail {
				t.Fatalf("save: %v", err)
			}
			got := readFile(t, path)
			if tc.inPlace {
				after, _ := os.Stat(path)
				if !strings.Contains(got, `"ghcr.io"`) || !os.SameFile(before, after) {
					t.Errorf("not written in place:\n%s", got)
				}
			} else if got != content {
				t.Errorf("config.json changed to %s", got)
			}
			checkNoTempFiles(t, dir)
		})
	}
}

func TestConcurrentStores(t *testing.T) {
	dir, _ := storeWorld(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := openDockerStore(dir)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.close()
			host := fmt.Sprintf("reg%02d.example.com", i)
			if _, err := s.store(context.Background(), host, hostAuth{RegistryToken: testToken}, false); err != nil {
				errs[i] = err
				return
			}
			// Widen the read-modify-write window: without the lock, the
			// others read the file meanwhile and one write loses theirs.
			time.Sleep(5 * time.Millisecond)
			errs[i] = s.save()
		})
	}
	wg.Wait()
	err := errors.Join(errs...)
	checkNoSecrets(t, []string{testToken}, filepath.Dir(dir), nil, fmt.Sprint(err))
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseDockerConfig([]byte(readFile(t, filepath.Join(dir, configFileName))))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, ok := c.auths[fmt.Sprintf("reg%02d.example.com", i)]; !ok {
			t.Errorf("entry %d lost", i)
		}
	}
}

func TestErase(t *testing.T) {
	dir, bin := storeWorld(t)
	rec := fakeHelper(t, bin, "fake")
	writeConfig(t, dir, `{"auths":{"quay.io":{"registrytoken":"`+testToken+`"},"ghcr.io":{"auth":"dXNlcjpwYXNz"}},"credHelpers":{"docker.io":"x","https://index.docker.io/v1/":"fake"}}`)
	storeOnce(t, dir, false, map[string]hostAuth{"docker.io": {Username: "user", Password: testPassword}})

	s, err := openDockerStore(dir)
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
	s, err = openDockerStore(dir)
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

// FuzzParseDockerConfig checks that whatever config.json the reader
// accepts is written back in a form it reads the same way.
func FuzzParseDockerConfig(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"auths":{"a":{"auth":"dTpw","x":[1,{"y":null}]}},"credsStore":"pass","credHelpers":{"b":""}}`,
		`{"auths":{"a":null},"HttpHeaders":{"X":"<&>"}}`, `{"auths":{"a":{"auth":"OnA="}}}`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseDockerConfig(data)
		if err != nil {
			return
		}
		out, err := c.encode()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		c2, err := parseDockerConfig(out)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		out2, err := c2.encode()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable: %v", err)
		}
		if c.containsAuth() != c2.containsAuth() || c.credsStore != c2.credsStore || len(c.credHelpers) != len(c2.credHelpers) {
			t.Fatal("decisions differ after a rewrite")
		}
	})
}

// FuzzDockerConfigFile drives the store as login does over a fuzzed
// config.json: a file the store refuses is never written, and a file it
// accepts keeps every top-level key and every other entry, value for
// value, after a registry token is stored and saved.
func FuzzDockerConfigFile(f *testing.F) {
	f.Add([]byte(`{"auths":{"a.example.com":{"auth":"dTpw","email":"x"}},"proxies":{"default":{}},"n":1.50}`))
	f.Add([]byte(`{"auths":{"x":{"auth":"not base64"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, configFileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := openDockerStore(dir)
		if err != nil {
			if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
				t.Fatalf("refused file was changed: %v", err)
			}
			return
		}
		defer s.close()
		if _, err := s.store(context.Background(), "fuzz.example.com", hostAuth{RegistryToken: "tok"}, true); err != nil {
			t.Fatalf("store: %v", err)
		}
		if err := s.save(); err != nil {
			t.Fatalf("save: %v", err)
		}
		var before, after map[string]json.RawMessage
		json.Unmarshal(data, &before)
		written, _ := os.ReadFile(path)
		if err := json.Unmarshal(written, &after); err != nil {
			t.Fatalf("written file is not JSON: %v", err)
		}
		for k, v := range before {
			if k == "auths" {
				continue
			}
			if !jsonEqual(v, after[k]) {
				t.Fatalf("top-level key %q changed", k)
			}
		}
		var authsBefore, authsAfter map[string]json.RawMessage
		json.Unmarshal(before["auths"], &authsBefore)
		json.Unmarshal(after["auths"], &authsAfter)
		for k, v := range authsBefore {
			if k != "fuzz.example.com" && !jsonEqual(v, authsAfter[k]) {
				t.Fatalf("auths entry %q changed", k)
			}
		}
	})
}

// jsonEqual compares two JSON values by meaning, keeping numbers as
// written.
func jsonEqual(a, b json.RawMessage) bool {
	decode := func(m json.RawMessage) (any, bool) {
		d := json.NewDecoder(bytes.NewReader(m))
		d.UseNumber()
		var v any
		return v, d.Decode(&v) == nil
	}
	va, okA := decode(a)
	vb, okB := decode(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}
