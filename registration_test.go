package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const staticHostConfig = `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: HOST
    username: USER
    credential:
      value: SECRET
`

// writeHostConfig writes a one-host config named name in dir.
func writeHostConfig(t *testing.T, dir, name, host, user, secret string) string {
	t.Helper()
	cfg := strings.NewReplacer("HOST", host, "USER", user, "SECRET", secret).Replace(staticHostConfig)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHelperRegistrations: login --helper of two configs keeps both
// configs' hosts in one 0600 registration file, and get reads each host
// from its own config, unless FLUX_MIRROR_CONFIG names another.
func TestHelperRegistrations(t *testing.T) {
	w := newHelperWorld(t)
	a := writeHostConfig(t, w.dir, "a.yaml", "a.example.com", "ua", "secret-a")
	b := writeHostConfig(t, w.dir, "b.yaml", "b.example.com", "ub", "secret-b")
	secrets := []string{"secret-a", "secret-b"}
	for _, cfg := range []string{a, b} {
		code, stdout, stderr := runRealLogin(t, "login", "--helper", "-f", cfg)
		checkNoSecrets(t, secrets, w.dir, []string{a, b}, stdout, stderr)
		if code != 0 {
			t.Fatalf("login --helper -f %s: exit %d, stderr %q", cfg, code, stderr)
		}
	}
	path, err := registrationPath(w.env())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("registration file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	regs, err := readRegistrations(w.env())
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 2 || regs["a.example.com"] != a || regs["b.example.com"] != b {
		t.Fatalf("registrations = %v, want a.example.com → %s and b.example.com → %s", regs, a, b)
	}

	for host, want := range map[string]string{"a.example.com": "secret-a", "b.example.com": "secret-b"} {
		code, stdout, stderr := w.get(t, host)
		var c helperCredential
		if code != 0 || json.Unmarshal([]byte(stdout), &c) != nil || c.Secret != want {
			t.Fatalf("get %s: exit %d, stderr %q; want its own config's secret", host, code, stderr)
		}
	}

	// FLUX_MIRROR_CONFIG wins over the registration: b's host is not in a.
	t.Setenv("FLUX_MIRROR_CONFIG", a)
	if code, stdout, _ := w.get(t, "b.example.com"); code != 1 || stdout != errCredentialsNotFound+"\n" {
		t.Fatalf("get b.example.com with FLUX_MIRROR_CONFIG=a.yaml: exit %d, stdout %q; want not found", code, stdout)
	}
}

// TestHelperExecutableConfig: with nothing registered and no
// FLUX_MIRROR_CONFIG, get reads <executable>.config, and a helper with no
// config at all serves nothing.
func TestHelperExecutableConfig(t *testing.T) {
	w := newHelperWorld(t)
	exe := filepath.Join(w.dir, "flux-mirror")
	env := w.env()
	env.executable = func() (string, error) { return exe, nil }
	get := func() (helperHost, error) { return findHelperHost(env, "exe.example.com", io.Discard) }

	if _, err := get(); err != errNotFound {
		t.Fatalf("get with no config beside the executable: %v, want not found", err)
	}
	writeHostConfig(t, w.dir, "flux-mirror.config", "exe.example.com", "u", "secret-exe")
	h, err := get()
	if err != nil {
		t.Fatalf("get with flux-mirror.config beside the executable: %v", err)
	}
	if h.configPath != exe+".config" || h.host.Username != "u" {
		t.Fatalf("found host %q of %s, want u of %s.config", h.host.Username, h.configPath, exe)
	}

	// The small helper beside flux-mirror reads flux-mirror.config.
	env.executable = func() (string, error) { return filepath.Join(w.dir, helperProgram), nil }
	if h, err := get(); err != nil || h.configPath != exe+".config" {
		t.Fatalf("small helper: found %s (%v), want %s.config", h.configPath, err, exe)
	}
}

// TestHelperRegistrationCorrupt: a corrupt registration file makes get
// fail with one line saying so and how to fix it; login --helper rewrites
// it and keeps the old bytes as .corrupt.
func TestHelperRegistrationCorrupt(t *testing.T) {
	w := newHelperWorld(t)
	cfg := writeHostConfig(t, w.dir, "a.yaml", "a.example.com", "ua", "secret-a")
	path, err := registrationPath(w.env())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, path, []byte("{not json"), 0o600)

	code, stdout, _ := w.get(t, "a.example.com")
	if code != 1 || !strings.Contains(stdout, "helper-hosts.json is corrupt") || !strings.Contains(stdout, "login --helper") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("get with a corrupt registration file: exit %d, stdout %q; want one line naming it and the fix", code, stdout)
	}
	code, stdout, stderr := runRealLogin(t, "login", "--helper", "-f", cfg)
	checkNoSecrets(t, []string{"secret-a"}, "", nil, stdout, stderr)
	if code != 0 || !strings.Contains(stderr, path+".corrupt") {
		t.Fatalf("login --helper over a corrupt registration file: exit %d, stderr %q; want it rewritten, naming the .corrupt copy", code, stderr)
	}
	if old, err := os.ReadFile(path + ".corrupt"); err != nil || string(old) != "{not json" {
		t.Fatalf("%s.corrupt: %v; want the corrupt bytes", path, err)
	}
	if code, stdout, _ := w.get(t, "a.example.com"); code != 0 || !strings.Contains(stdout, "secret-a") {
		t.Fatalf("get after the rewrite: exit %d; want the credential", code)
	}
}

// TestHelperRegistrationNotPrivate: a registration file or folder that is
// not ours alone is not used by get (a warning, then not found) and not
// written by login --helper (an error naming it).
func TestHelperRegistrationNotPrivate(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, path, elsewhere string)
	}{
		{"file is a symlink", func(t *testing.T, path, elsewhere string) {
			os.Remove(path)
			mustSymlink(t, elsewhere, path)
		}},
		{"file is readable by others", func(t *testing.T, path, _ string) {
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"folder is writable by others", func(t *testing.T, path, _ string) {
			if err := os.Chmod(filepath.Dir(path), 0o777); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newHelperWorld(t)
			cfg := writeHostConfig(t, w.dir, "a.yaml", "a.example.com", "ua", "secret-a")
			evil := writeHostConfig(t, w.dir, "evil.yaml", "a.example.com", "attacker", "secret-evil")
			path, _ := registrationPath(w.env())
			if code, _, stderr := runRealLogin(t, "login", "--helper", "-f", cfg); code != 0 {
				t.Fatalf("login --helper: exit %d, stderr %q", code, stderr)
			}
			elsewhere := filepath.Join(w.dir, "evil-registrations.json")
			mustWrite(t, elsewhere, []byte(`{"a.example.com":"`+evil+`"}`), 0o600)
			mustWrite(t, path, []byte(`{"a.example.com":"`+evil+`"}`), 0o600)
			tt.plant(t, path, elsewhere)

			code, stdout, stderr := w.get(t, "a.example.com")
			checkNoSecrets(t, []string{"secret-evil", "secret-a"}, "", nil, stdout, stderr)
			if code != 1 || stdout != errCredentialsNotFound+"\n" || !strings.Contains(stderr, "warning: helper registrations not used") {
				t.Fatalf("get: exit %d, stdout %q, stderr %q; want not found and a warning", code, stdout, stderr)
			}
			code, _, stderr = runRealLogin(t, "login", "--helper", "-f", cfg)
			if code == 0 || !strings.Contains(stderr, "not using it") {
				t.Fatalf("login --helper: exit %d, stderr %q; want it refused", code, stderr)
			}
		})
	}
}
