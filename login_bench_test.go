package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// benchHosts is the size of the config issue 5 set its goals for
// (bench/README.md).
const benchHosts = 200

// writeBenchConfig writes a config of n hosts with a static username and
// value credential each, the shape bench/run.sh compares with crane.
func writeBenchConfig(b *testing.B, n int) string {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "  - host: reg-%d.example.com\n    username: u\n    credential: {value: tok-%d}\n", i, i)
	}
	path := filepath.Join(b.TempDir(), "flux-mirror.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// setBenchEnv gives the benchmark the hermetic world of the scripts: an
// empty HOME and DOCKER_CONFIG, a PATH with no credential helper on it, and
// no config named by the environment or cloud identity to probe.
func setBenchEnv(b *testing.B) {
	b.Helper()
	b.Setenv("HOME", b.TempDir())
	b.Setenv("DOCKER_CONFIG", b.TempDir())
	b.Setenv("PATH", b.TempDir())
	b.Setenv("FLUX_MIRROR_CONFIG", "")
	b.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// BenchmarkLogin200Hosts is one whole `flux-mirror login --plaintext` of 200
// static hosts into a fresh Docker config folder, minus process start-up:
// what bench/run.sh's (a) costs beyond the start-up measured by (c).
func BenchmarkLogin200Hosts(b *testing.B) {
	setBenchEnv(b)
	cfg := writeBenchConfig(b, benchHosts)
	dirs := b.TempDir()
	checkBenchLogin(b, cfg, filepath.Join(dirs, "check"))
	i := 0
	for b.Loop() {
		i++
		// login creates the missing folder: each iteration writes a new
		// config.json instead of finding its content unchanged.
		docker := filepath.Join(dirs, strconv.Itoa(i))
		args := []string{"login", "-f", cfg, "--docker-config", docker, "--plaintext"}
		if code := run(args, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("login exited %d", code)
		}
	}
}

// checkBenchLogin runs the benchmarked login once and fails unless it
// stored every host in config.json without printing a secret: a fast login
// that stores nothing would make the numbers meaningless.
func checkBenchLogin(b *testing.B, cfg, docker string) {
	b.Helper()
	var stdout, stderr strings.Builder
	args := []string{"login", "-f", cfg, "--docker-config", docker, "--plaintext"}
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	// Every secret of the config starts with "tok-": looking for the
	// prefix finds any of them.
	checkNoSecrets(b, []string{"tok-"}, docker, nil, stdout.String(), stderr.String())
	if code != 0 {
		b.Fatalf("login exited %d: %s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "✔ stored credential for reg-"); n != benchHosts {
		b.Fatalf("login reported %d stored hosts, want %d:\n%s", n, benchHosts, stdout.String())
	}
	data, err := os.ReadFile(filepath.Join(docker, "config.json"))
	if err != nil {
		b.Fatal(err)
	}
	var stored struct {
		Auths map[string]struct{ Auth string }
	}
	if err := json.Unmarshal(data, &stored); err != nil {
		b.Fatalf("config.json: %v", err)
	}
	for i := 1; i <= benchHosts; i++ {
		host := fmt.Sprintf("reg-%d.example.com", i)
		want := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "u:tok-%d", i))
		if stored.Auths[host].Auth != want {
			b.Fatalf("config.json: auths[%q].auth is not base64 of u and its token", host)
		}
	}
}

// BenchmarkLoadConfig200Hosts is the config decoding and validation part
// of BenchmarkLogin200Hosts.
func BenchmarkLoadConfig200Hosts(b *testing.B) {
	setBenchEnv(b)
	cfg := writeBenchConfig(b, benchHosts)
	for b.Loop() {
		c, err := loadConfig(cfg, strings.NewReader(""), true)
		if err != nil {
			b.Fatal(err)
		}
		if len(c.Hosts) != benchHosts {
			b.Fatalf("loaded %d hosts, want %d", len(c.Hosts), benchHosts)
		}
	}
}
