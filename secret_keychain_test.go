package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecretKeychainRoundTrip is the "done when": what secret
// writes is what Flux reads. secret writes the pull Secret to the test
// API server; go-containerregistry's pkg/authn/kubernetes keychain (what
// source-controller uses) reads it from there, in .ci/keychain's
// keychain-check, and pushes and pulls an image against a real registry
// (Debian's docker-registry, distribution 2.8, htpasswd auth, as in the
// client matrix of .ci/clients). A wrong password written the same way is
// refused, so a passing push means the Secret's credential worked.
func TestSecretKeychainRoundTrip(t *testing.T) {
	r := newSecretRun(t)
	registry := startDockerRegistry(t, "ci", r.password)
	config := fmt.Sprintf(`apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: %s
    username: ci
    credential:
      value: ${FLUX_MIRROR_TEST_PASSWORD}
`, registry)
	if err := os.WriteFile(filepath.Join(r.dir, "hosts.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	check := kubeTool(t, "keychain-check")
	kubeconfig := filepath.Join(r.dir, "admin.yaml")

	if code, _, stderr := r.run(nil); code != 0 {
		t.Fatalf("secret: exit %d: %s", code, stderr)
	}
	out, err := runKeychainCheck(check, kubeconfig, r.namespace, registry+"/flux-mirror/keychain:v1")
	checkNoSecrets(t, []string{r.password}, "", nil, out)
	if err != nil {
		t.Fatalf("keychain-check with the Secret secret wrote: %v\n%s", err, out)
	}
	if !strings.HasPrefix(out, "pushed and pulled sha256:") {
		t.Errorf("keychain-check said %q", out)
	}

	// The same with a wrong password: the registry refuses the push.
	wrong := randomSecret()
	t.Setenv("FLUX_MIRROR_TEST_PASSWORD", wrong)
	if code, _, stderr := r.run(nil); code != 0 {
		t.Fatalf("secret (wrong password): exit %d: %s", code, stderr)
	}
	out, err = runKeychainCheck(check, kubeconfig, r.namespace, registry+"/flux-mirror/keychain:v2")
	checkNoSecrets(t, []string{r.password, wrong}, "", nil, out)
	if err == nil || !strings.Contains(out, "401 Unauthorized") {
		t.Errorf("keychain-check with a wrong password: %v, %q; want the registry's 401", err, out)
	}
}

func runKeychainCheck(bin, kubeconfig, namespace, ref string) (string, error) {
	cmd := exec.Command(bin, "-kubeconfig", kubeconfig, "-namespace", namespace, "-secret", "regcreds", ref)
	// No Docker config: only the Secret can authenticate.
	cmd.Env = []string{"HOME=" + filepath.Dir(kubeconfig), "DOCKER_CONFIG=" + filepath.Join(filepath.Dir(kubeconfig), "no-docker")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startDockerRegistry serves Debian's docker-registry on 127.0.0.1 (plain
// http, which go-containerregistry uses for a loopback address) with one
// htpasswd user, for the test's lifetime, and returns its host:port.
func startDockerRegistry(t *testing.T, user, password string) string {
	t.Helper()
	registryBin, err1 := exec.LookPath("docker-registry")
	htpasswd, err2 := exec.LookPath("htpasswd")
	if err1 != nil || err2 != nil {
		msg := "no docker-registry or htpasswd on PATH (apt-get install docker-registry apache2-utils, as .ci/run does)"
		if os.Getenv(kubeRequireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	// htpasswd -i reads the password from stdin: it is in no argv.
	cmd := exec.Command(htpasswd, "-iBn", user)
	cmd.Stdin = strings.NewReader(password)
	hashed, err := cmd.Output()
	if err != nil {
		t.Fatalf("htpasswd: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), hashed, 0o600); err != nil {
		t.Fatal(err)
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	host := fmt.Sprintf("127.0.0.1:%d", ports[0])
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s/data
http:
  addr: %s
auth:
  htpasswd:
    realm: flux-mirror-test
    path: %s/htpasswd
`, dir, host, dir)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	registry := exec.Command(registryBin, "serve", filepath.Join(dir, "config.yml"))
	registry.Stdout, registry.Stderr = &log, &log
	dieWithTestBinary(registry)
	if err := registry.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		registry.Process.Kill()
		registry.Wait()
	})
	deadline := time.Now().Add(kubeReadyWait)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return host
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not start: %s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
