package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestConfigPathConfinement checks that fromPath, jwkPath and the tls
// paths stay inside the config folder.
func TestConfigPathConfinement(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "config")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(dir, "keys", "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "token"), filepath.Join(dir, "keys", "jwk.json"), filepath.Join(outside, "token")} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"out":       filepath.Join(outside, "token"),
		"outdir":    outside,
		"rel-out":   "../outside/token",
		"dangling":  "../outside/missing",
		"in":        "token",
		"keysdir":   "keys",
		"abs-in":    filepath.Join(dir, "keys"),
		"keys/up":   "..",
		"keys/back": "../token",
		"deep":      "keys/sub",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(dir, filepath.Join(outside, "config")); err != nil {
		t.Fatal(err)
	}
	escapes := func(field, p string) string {
		return field + " " + strconv.Quote(p) + ": path escapes the config folder " + dir
	}
	tests := []struct {
		name    string
		field   string // the credential or tls block, in flow style, with %s for the path
		path    string
		want    string // the stored relative path
		wantErr string
	}{
		{"relative", "fromPath", "token", "token", ""},
		{"dot", "fromPath", "./token", "./token", ""},
		{"down and up inside", "jwkPath", "keys/../token", "keys/../token", ""},
		{"missing file is fine at load", "fromPath", "missing/token", "missing/token", ""},
		{"absolute inside", "jwkPath", filepath.Join(dir, "keys", "jwk.json"), filepath.Join("keys", "jwk.json"), ""},
		{"absolute inside, missing", "fromPath", filepath.Join(dir, "nope"), "nope", ""},
		{"symlink inside", "fromPath", "in", "in", ""},
		{"symlinked folder inside", "jwkPath", "keysdir/jwk.json", "keysdir/jwk.json", ""},
		// os.Root cannot follow an absolute symlink without leaving the
		// root, so the later read would fail: refused at load instead.
		{"absolute symlink, even to inside", "jwkPath", "abs-in/jwk.json", "", "hosts[0]: credential: " + escapes("jwkPath", "abs-in/jwk.json")},
		{"symlink up to the folder itself", "fromPath", "keys/up/token", "keys/up/token", ""},
		{"symlink back inside", "fromPath", "keys/back", "keys/back", ""},
		{"dot dot", "fromPath", "../outside/token", "", "hosts[0]: credential: " + escapes("fromPath", "../outside/token")},
		{"dot dot that comes back", "fromPath", "../config/token", "", "hosts[0]: credential: " + escapes("fromPath", "../config/token")},
		{"deep dot dot", "jwkPath", "keys/../../x", "", "hosts[0]: credential: " + escapes("jwkPath", "keys/../../x")},
		{"absolute outside", "fromPath", filepath.Join(outside, "token"), "", "hosts[0]: credential: " + escapes("fromPath", filepath.Join(outside, "token"))},
		{"absolute system file", "jwkPath", "/etc/passwd", "", "hosts[0]: credential: " + escapes("jwkPath", "/etc/passwd")},
		{"symlink out", "fromPath", "out", "", "hosts[0]: credential: " + escapes("fromPath", "out")},
		{"relative symlink out", "jwkPath", "rel-out", "", "hosts[0]: credential: " + escapes("jwkPath", "rel-out")},
		{"symlink out to a missing file", "fromPath", "dangling", "", "hosts[0]: credential: " + escapes("fromPath", "dangling")},
		{"through a symlinked folder out", "fromPath", "outdir/token", "", "hosts[0]: credential: " + escapes("fromPath", "outdir/token")},
		{"symlink then dot dot", "fromPath", "keys/up/../outside/token", "", "hosts[0]: credential: " + escapes("fromPath", "keys/up/../outside/token")},
		{"serverAuth", "serverAuth", "../outside/token", "", "hosts[0]: tls: serverAuth: " + escapes("fromPath", "../outside/token")},
		{"certificate", "certificate", "out", "", "hosts[0]: tls: clientAuth: certificate: " + escapes("fromPath", "out")},
		{"key", "key", "/etc/passwd", "", "hosts[0]: tls: clientAuth: key: " + escapes("fromPath", "/etc/passwd")},
		{"tls inside", "key", "keys/jwk.json", "", ""},
		// ".." after a symlinked folder climbs from its target, as the
		// kernel does, not from the symlink's place as text would.
		{"absolute, dot dot after a symlinked folder", "jwkPath", filepath.Join(dir, "deep") + "/../jwk.json", "deep/../jwk.json", ""},
		{"absolute, through a symlinked folder above", "fromPath", filepath.Join(dir, "keys", "up") + "/../outside/token", "",
			"hosts[0]: credential: " + escapes("fromPath", filepath.Join(dir, "keys", "up")+"/../outside/token")},
		{"absolute, through a symlink to the folder", "fromPath", filepath.Join(outside, "config") + "/token", "token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := strconv.Quote(tt.path)
			var host string
			switch tt.field {
			case "fromPath":
				host = "{host: r.example, credential: {fromPath: " + p + "}}"
			case "jwkPath":
				host = "{host: r.example, credential: {jwkPath: " + p + ", iss: i, sub: s}}"
			case "serverAuth":
				host = "{host: r.example, tls: {serverAuth: {fromPath: " + p + "}}}"
			case "certificate":
				host = "{host: r.example, tls: {clientAuth: {certificate: {fromPath: " + p + "}, key: {value: k}}}}"
			case "key":
				host = "{host: r.example, tls: {clientAuth: {certificate: {value: c}, key: {fromPath: " + p + "}}}}"
			}
			cfg, err := parseDoc(dir, v1beta1Header+"hosts: ["+host+"]\n", nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				return
			}
			c := cfg.Hosts[0].Credential
			got := c.FromPath + c.JWKPath
			if got != tt.want {
				t.Errorf("stored path %q, want %q", got, tt.want)
			}
		})
	}
}

// TestConfigReadFile checks that readFile reads through the folder and
// still refuses a symlink that was made to point out after the load.
func TestConfigReadFile(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "config")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "token"), "in-token\n")
	writeFile(t, filepath.Join(base, "secret"), "outside-secret")
	cfg, err := parseDoc(dir, v1beta1Header+"hosts: [{host: r.example, credential: {fromPath: link}}]\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.readFile("link"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("readFile of a missing file: %v, want not exist", err)
	}
	if err := os.Symlink("token", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if data, err := cfg.readFile("link"); err != nil || string(data) != "in-token\n" {
		t.Errorf("readFile through an inside symlink = %q, %v", data, err)
	}
	if err := os.Remove(filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	data, err := cfg.readFile("link")
	if err == nil {
		t.Fatalf("readFile followed a symlink out of the folder and read %d bytes", len(data))
	}
	if want := "openat link: path escapes from parent"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestConfigPath checks where the config comes from: --config, then
// $FLUX_MIRROR_CONFIG, then the executable's path plus ".config".
func TestConfigPath(t *testing.T) {
	exe := func() (string, error) { return "/usr/local/bin/flux-mirror", nil }
	noExe := func() (string, error) { return "", errors.New("no /proc") }
	tests := []struct {
		name       string
		flag, env  string
		executable func() (string, error)
		want       string
		wantErr    string
	}{
		{"flag wins", "cfg.yaml", "/etc/env.yaml", exe, "cfg.yaml", ""},
		{"stdin", "-", "/etc/env.yaml", exe, "-", ""},
		{"env", "", "/etc/env.yaml", exe, "/etc/env.yaml", ""},
		{"env stdin", "", "-", exe, "-", ""},
		{"beside the executable", "", "", exe, "/usr/local/bin/flux-mirror.config", ""},
		{"no executable", "", "", noExe, "", "resolve default config path: no /proc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "FLUX_MIRROR_CONFIG" {
					return tt.env
				}
				return ""
			}
			got, err := configPath(tt.flag, getenv, tt.executable)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("configPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
