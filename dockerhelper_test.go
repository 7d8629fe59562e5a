package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

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
			s, err := openDockerStore(dir, testLockWait)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			path := filepath.Join(dir, configFileName)
			want := destination{Helper: tc.want, Path: path}
			if got, _, err := s.where(tc.host, a, tc.plaintext); got != want || err != nil {
				t.Errorf("where: %+v, %v; want %+v", got, err, want)
			}
			if got, _, err := s.where(tc.host, hostAuth{RegistryToken: testToken}, tc.plaintext); got != (destination{Path: path}) || err != nil {
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
	s, err := openDockerStore(dir, testLockWait)
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
	s, err := openDockerStore(dir, testLockWait)
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
	s, err = openDockerStore(dir, testLockWait)
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
			s, err := openDockerStore(dir, testLockWait)
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
	s, err := openDockerStore(dir, testLockWait)
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
				s, err := openDockerStore(dir, testLockWait)
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
