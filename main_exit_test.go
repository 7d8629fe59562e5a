package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestExitCodes pins the exit code and the first stderr line of the command
// line's failure modes: 2 for a command line the tool cannot run, 1 for a
// failure, 0 for help.
func TestExitCodes(t *testing.T) {
	t.Setenv("FLUX_MIRROR_CONFIG", "")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // first line of stderr; "" means stderr is empty
		stdout string // a substring of stdout; "" means stdout is empty
	}{
		{"help flag", []string{"-h"}, 0, "", "Usage:"},
		{"help command", []string{"help"}, 0, "", "Example:"},
		{"help login", []string{"help", "login"}, 0, "", "--docker-config DIR"},
		{"login help", []string{"login", "--help"}, 0, "", "--plaintext"},
		{"keygen help", []string{"keygen", "-h"}, 0, "", "privkey.json"},
		{"help unknown", []string{"help", "nope"}, 2, `✗ unknown command "nope"`, ""},
		{"no command", []string{}, 2, "Usage:", ""},
		{"unknown command", []string{"frob"}, 2, `✗ unknown command "frob"`, ""},
		{"unknown global flag", []string{"--nope", "login"}, 2, "✗ flag provided but not defined: -nope", ""},
		{"unknown login flag", []string{"login", "--nope"}, 2, "✗ flag provided but not defined: -nope", ""},
		{"host argument without -u", []string{"login", "extra"}, 2, `✗ login extra needs -u USER, and the password on stdin with --password-stdin`, ""},
		{"second argument", []string{"login", "a.example.com", "b.example.com"}, 2, `✗ login: unexpected argument "b.example.com": give one HOST`, ""},
		{"config where the host goes", []string{"login", "hosts.yaml"}, 2, `✗ login: "hosts.yaml" looks like a config file, not a registry host; did you mean -f hosts.yaml?`, ""},
		{"version flag", []string{"--version"}, 0, "", "flux-mirror "},
		{"bad timeout", []string{"--timeout", "soon", "login"}, 2, `✗ invalid value "soon" for flag -timeout: parse error`, ""},
		{"zero timeout before command", []string{"--timeout", "0s", "login", "-f", "x.yaml"}, 2, "✗ --timeout must be greater than 0", ""},
		{"negative timeout after command", []string{"login", "--timeout", "-1s", "-f", "x.yaml"}, 2, "✗ --timeout must be greater than 0", ""},
		{"negative min-valid", []string{"status", "--min-valid", "-5m", "-f", "x.yaml"}, 2, "✗ --min-valid must not be negative, got -5m", ""},
		{"version argument", []string{"version", "x"}, 2, `✗ version: unexpected argument "x"`, ""},
		{"missing config is a failure", []string{"login", "-f", "/nonexistent/flux-mirror.yaml"}, 1, "✗ ", ""},
		{"version", []string{"version"}, 0, "", "flux-mirror "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			first, _, _ := strings.Cut(stderr.String(), "\n")
			if tt.stderr == "" && stderr.Len() > 0 {
				t.Errorf("stderr = %q, want empty", stderr.String())
			}
			if tt.stderr != "" && !strings.HasPrefix(first, tt.stderr) {
				t.Errorf("stderr first line = %q, want prefix %q", first, tt.stderr)
			}
			if tt.stdout == "" && stdout.Len() > 0 {
				t.Errorf("stdout = %q, want empty", stdout.String())
			}
			if tt.stdout != "" && !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.stdout)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"12h", "12h"},
		{"59m30s", "59m30s"},
		{"2m", "2m"},
		{"45s", "45s"},
		{"1h0m1s", "1h1s"},
		{"59.6s", "1m"},
		{"59.1s", "1m"},
		{"9m59.4s", "10m"},
		{"400ms", "1s"},
		{"0s", "0s"},
		{"-5s", "0s"},
	}
	for _, tt := range tests {
		d, err := time.ParseDuration(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatDuration(d); got != tt.want {
			t.Errorf("formatDuration(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFormatTimeout shows a --timeout echoed in an error as the user
// wrote it, not rounded like an expiry.
func TestFormatTimeout(t *testing.T) {
	for in, want := range map[string]string{"500ms": "500ms", "1m": "1m", "90s": "1m30s", "2s": "2s", "1.5s": "1.5s"} {
		d, err := time.ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatTimeout(d); got != want {
			t.Errorf("formatTimeout(%s) = %q, want %q", in, got, want)
		}
	}
}
