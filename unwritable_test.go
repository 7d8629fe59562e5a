//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnwritableDockerFolder runs login as a user who cannot write the
// Docker config folder: the error names the folder and how to pick
// another, not the lock file flux-mirror would have created in it. Root
// writes anywhere, so under root the login runs as nobody.
func TestUnwritableDockerFolder(t *testing.T) {
	w := newFaultWorld(t)
	w.writeHosts("apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\nhosts:\n  - host: r.example.com\n    credential: {type: jwt, value: tok}\n")
	folder := filepath.Join(w.root, "docker-ro")
	if err := os.Mkdir(folder, 0o555); err != nil {
		t.Fatal(err)
	}
	cmd, stdout, stderr := w.login(nil, "--docker-config", folder)
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root without setpriv to run login as nobody")
		}
		// nobody needs to reach the world and run a copy of the binary.
		exe := filepath.Join(w.bin, "flux-mirror")
		data, err := os.ReadFile(w.exe)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(exe, data, 0o755); err != nil {
			t.Fatal(err)
		}
		// Up to, not including, the machine's temp folder itself: it is
		// 1777 already, and 0755 would lock every other user out of it.
		tmp := filepath.Clean(os.TempDir())
		for d := w.root; d != tmp && d != filepath.Dir(d) && strings.HasPrefix(d, tmp+string(filepath.Separator)); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []string{w.bin, filepath.Join(w.root, "hosts.yaml")} {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd.Args = append([]string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", exe}, cmd.Args[1:]...)
		cmd.Path = setpriv
	}
	code := exitCode(t, cmd.Run())
	// The redaction rule of redact.go hides the random name of the test's
	// temp folder: compare around it.
	const head = "✗ cannot write to the docker config folder /"
	const tail = "/docker-ro: permission denied; pass --docker-config DIR or set DOCKER_CONFIG to a folder you can write\n"
	got := stderr.String()
	if code != 1 || !strings.HasPrefix(got, head) || !strings.HasSuffix(got, tail) || strings.Count(got, "\n") != 1 || stdout.String() != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q...%q", code, stdout.String(), got, head, tail)
	}
	if _, err := os.Stat(filepath.Join(folder, "config.json.lock")); err == nil {
		t.Error("a lock file was created")
	}
}
