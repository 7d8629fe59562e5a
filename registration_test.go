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
