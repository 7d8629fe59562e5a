package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestComplete pins the exact __complete output (cobra's protocol, which
// flux reads) for each kind of word.
func TestComplete(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hosts.yaml")
	doc := "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n" +
		"- host: ghcr.io\n  credential: {value: a}\n- host: registry.example.com\n  credential: {value: b}\n"
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flux-mirror.config"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("hosts: [{host: }]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	allCommands := "login\tResolve the credentials of the config's hosts and store them in the Docker config.\n" +
		"logout\tErase what login stored for the config's hosts.\n" +
		"status\tShow where each host's credential is now, its expiry and what shadows it.\n" +
		"secret\tWrite the hosts' credentials into a Kubernetes pull Secret, kept fresh.\n" +
		"keygen\tWrite a fresh Ed25519 key pair (privkey.json, pubkey.json) for jwkPath.\n" +
		"kubelet-credential-provider\tAnswer the kubelet's image credential requests from the config.\n" +
		"completion\tPrint a bash, zsh or fish completion script.\n" +
		"version\tPrint the version.\n" +
		"help\tPrint this help.\n:4\n"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"commands", []string{""}, nil, allCommands},
		{"command prefix", []string{"logo"}, nil, "logout\tErase what login stored for the config's hosts.\n:4\n"},
		{"commands after a global flag", []string{"--timeout", "2m", "ver"}, nil, "version\tPrint the version.\n:4\n"},
		{"help's argument", []string{"help", "k"}, nil, "keygen\tWrite a fresh Ed25519 key pair (privkey.json, pubkey.json) for jwkPath.\nkubelet-credential-provider\tAnswer the kubelet's image credential requests from the config.\n:4\n"},
		{"global flags", []string{"--"}, nil, "--no-envsubst\tRead ${VAR} in the config literally instead of substituting it.\n--timeout\tBound credential resolution and helper calls. Default: 1m.\n:4\n"},
		{"login flags", []string{"login", "--d"}, nil, "--docker-config\tDocker config directory. Default: $DOCKER_CONFIG, else ~/.docker.\n--dry-run\tResolve every credential and show what would be stored where, with\n:4\n"},
		{"short flags", []string{"logout", "-o"}, nil, "-o\ttext (default) or json.\n:4\n"},
		{"status flags, new ones included", []string{"status", "--h"}, nil, "--host\tShow this host only; repeatable. Default: all hosts.\n:4\n"},
		{"login's newer flags", []string{"login", "--v"}, nil, "--verify\tAuthenticate each credential against its registry first, as\n:4\n"},
		{"keygen flags", []string{"keygen", "-"}, nil, "-o\tDirectory to write to, created if missing. Default: .\n--output-dir\tDirectory to write to, created if missing. Default: .\n:4\n"},
		{"output values", []string{"login", "-o", ""}, nil, "text\njson\n:4\n"},
		{"output value prefix", []string{"login", "--output", "j"}, nil, "json\n:4\n"},
		{"output value after =", []string{"logout", "--output=t"}, nil, "--output=text\n:4\n"},
		{"config is a file", []string{"login", "-f", ""}, nil, ":0\n"},
		{"docker config is a folder", []string{"login", "--docker-config", ""}, nil, ":16\n"},
		{"keygen output is a folder", []string{"keygen", "-o", ""}, nil, ":16\n"},
		{"timeout has no candidates", []string{"--timeout", ""}, nil, ":4\n"},
		{"hosts of -f", []string{"login", "-f", cfg, "--host", ""}, nil, "ghcr.io\nregistry.example.com\n:4\n"},
		{"hosts of --config=, prefix", []string{"--timeout", "2m", "logout", "--config=" + cfg, "--host", "r"}, nil, "registry.example.com\n:4\n"},
		{"hosts after =", []string{"login", "-f", cfg, "--host=g"}, nil, "--host=ghcr.io\n:4\n"},
		{"hosts of $FLUX_MIRROR_CONFIG", []string{"login", "--host", ""}, map[string]string{"FLUX_MIRROR_CONFIG": cfg}, "ghcr.io\nregistry.example.com\n:4\n"},
		{"hosts of the default config", []string{"login", "--plaintext", "--host", "g"}, nil, "ghcr.io\n:4\n"},
		{"a bad config completes nothing", []string{"login", "-f", bad, "--host", ""}, nil, ":4\n"},
		{"a missing config completes nothing", []string{"login", "-f", filepath.Join(dir, "none"), "--host", ""}, nil, ":4\n"},
		{"stdin completes nothing", []string{"login", "-f", "-", "--host", ""}, nil, ":4\n"},
		{"completion shells", []string{"completion", ""}, nil, "bash\nzsh\nfish\n:4\n"},
		{"no positional arguments", []string{"login", "x"}, nil, ":4\n"},
		{"after a bool flag", []string{"login", "--dry-run", ""}, nil, ":4\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			exe := func() (string, error) { return filepath.Join(dir, "flux-mirror"), nil }
			var b bytes.Buffer
			writeCompletions(&b, tt.args, getenv, exe)
			if b.String() != tt.want {
				t.Errorf("__complete %q:\ngot  %q\nwant %q", tt.args, b.String(), tt.want)
			}
		})
	}
}

// TestCompleteExecutableFails checks a default config that cannot be
// located completes no host rather than failing.
func TestCompleteExecutableFails(t *testing.T) {
	var b bytes.Buffer
	exe := func() (string, error) { return "", errors.New("no executable") }
	writeCompletions(&b, []string{"login", "--host", ""}, func(string) string { return "" }, exe)
	if b.String() != ":4\n" {
		t.Errorf("got %q", b.String())
	}
}

// TestCompletionCoversCommands checks every command of the help's Commands
// section either has its FlagSet in commandFlags or takes no flags, so a
// new command's flags cannot silently miss completion.
func TestCompletionCoversCommands(t *testing.T) {
	for _, c := range commands() {
		help := commandHelp(c.word)
		if help == "" {
			t.Errorf("command %s has no help text", c.word)
			continue
		}
		if strings.Contains(help, "\nOptions:\n") && commandFlags(c.word) == nil {
			t.Errorf("command %s documents options but commandFlags has no FlagSet for it", c.word)
		}
		fs := commandFlags(c.word)
		if fs == nil {
			continue
		}
		descs := flagDescriptions(help + "\n" + usage)
		for _, f := range flagNames(fs) {
			if descs[f] == "" {
				t.Errorf("%s flag %s has no description in its help text", c.word, f)
			}
		}
	}
}
