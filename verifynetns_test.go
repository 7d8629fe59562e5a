//go:build linux

package main

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// netnsChildEnv marks the copy of the test binary that runs inside a
// network namespace of its own.
const netnsChildEnv = "FLUX_MIRROR_TEST_NETNS"

// TestVerifyPrivateNetwork is the reviewer's reproduction, end to end: a
// plain-http registry on 10.10.0.1:5000 never receives the password from
// login --verify, unless the config marks the host insecure: true. It runs
// as root in a network namespace of its own (unshare -n), so that
// 10.10.0.1 is a loopback alias nobody else can reach; elsewhere it skips.
func TestVerifyPrivateNetwork(t *testing.T) {
	if os.Getenv(netnsChildEnv) == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root to create a network namespace (unshare -n)")
		}
		if out, err := exec.Command("unshare", "-n", "--", "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Skipf("cannot create a network namespace with unshare -n and ip: %v: %s", err, out)
		}
		cmd := exec.Command("unshare", "-n", "--", os.Args[0], "-test.run=^TestVerifyPrivateNetwork$", "-test.v")
		cmd.Env = append(os.Environ(), netnsChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestVerifyPrivateNetwork")) {
			t.Fatalf("in the network namespace: %v\n%s", err, out)
		}
		return
	}
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", "10.10.0.1/32", "dev", "lo"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ln, err := net.Listen("tcp", "10.10.0.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	registry := &credentialRecorder{}
	srv := &http.Server{Handler: registry, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	defer srv.Close()
	for _, v := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "DOCKER_AUTH_CONFIG", "FLUX_MIRROR_CONFIG"} {
		t.Setenv(v, "")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PASSWORD", fakeRegistryPassword)

	tests := []struct {
		insecure       string
		code           int
		stdout, stderr string
		want           string
	}{
		{"false", 1, "",
			`✗ host "10.10.0.1:5000": verify: Get "https://10.10.0.1:5000/v2/": http: server gave HTTP response to HTTPS client; a credential goes over plain http only to a loopback host or to one the config marks insecure: true` + "\n",
			""},
		{"true", 0, "✔ stored credential for 10.10.0.1:5000 in DIR/config.json (verified)\n",
			"WARNING! Your credentials are stored unencrypted in 'DIR/config.json'.\n" +
				"Configure a credential helper to remove this warning, or use flux-mirror login --helper,\n" +
				"which stores no secret. See https://docs.docker.com/go/credential-store/\n",
			"http GET /v2/ \nhttp GET /v2/ \nhttp GET /v2/ Basic"},
	}
	for _, tt := range tests {
		t.Run("insecure "+tt.insecure, func(t *testing.T) {
			registry.mu.Lock()
			registry.requests = nil
			registry.mu.Unlock()
			dir := t.TempDir()
			cfg := filepath.Join(dir, "hosts.yaml")
			writeFile(t, cfg, v1beta1Header+"hosts:\n- host: 10.10.0.1:5000\n  insecure: "+tt.insecure+"\n  username: robot\n  credential: {value: '${PASSWORD}'}\n")
			docker := filepath.Join(dir, "docker")
			var stdout, stderr bytes.Buffer
			code := run([]string{"login", "-f", cfg, "--plaintext", "--verify", "--docker-config", docker}, strings.NewReader(""), &stdout, &stderr)
			checkNoSecrets(t, []string{fakeRegistryPassword}, "", nil, stdout.String(), stderr.String())
			want, wantErr := strings.ReplaceAll(tt.stdout, "DIR", docker), strings.ReplaceAll(tt.stderr, "DIR", docker)
			if code != tt.code || stdout.String() != want || stderr.String() != wantErr {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String(), tt.code, want, wantErr)
			}
			if got := strings.Join(registry.seen(), "\n"); got != tt.want {
				t.Errorf("the registry on 10.10.0.1:5000 received:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
