package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// Every script that handles a secret declares it with `secret VALUE...`.
// At the end of the script, whether it passed or not, the sweep fails the
// test if any declared secret appears in anything the tool printed during
// the whole script (not only the last command's output) or in any file the
// script left behind, except config.json and the files a script names as a
// credential store with `secret -store PATH...`.

const (
	// outputLogEnv names the file where mainRecordingOutput appends what
	// the tool prints; setupScript points it into the script's $WORK.
	outputLogEnv  = "FLUX_MIRROR_TEST_OUTPUT_LOG"
	outputLogName = ".flux-mirror-output"
)

// mainRecordingOutput is the tool as scripts run it: main, with everything
// it prints also appended to $FLUX_MIRROR_TEST_OUTPUT_LOG. Go tests that
// run the tool as a process without that variable get plain main.
func mainRecordingOutput() {
	if os.Getenv(outputLogEnv) == "" {
		main()
	}
	log, err := os.OpenFile(os.Getenv(outputLogEnv), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test harness:", err)
		os.Exit(3)
	}
	stdout := io.MultiWriter(os.Stdout, log)
	var answer bytes.Buffer
	// A helper's successful get, and the kubelet provider's answer,
	// carry the secret by design; what they print on failure, and on
	// stderr, is swept.
	helper := filepath.Base(os.Args[0]) == helperProgram ||
		slices.Contains(os.Args, "kubelet-credential-provider") && !slices.Contains(os.Args, "--print-config")
	if helper {
		stdout = &answer
	}
	code := runAs(os.Args[0], os.Args[1:], os.Stdin, stdout, io.MultiWriter(os.Stderr, log))
	if helper {
		os.Stdout.Write(answer.Bytes())
		if code != 0 {
			log.Write(answer.Bytes())
		}
	}
	log.Close()
	os.Exit(code)
}

// secretWatch is what a script declared: its secrets and the files that
// are allowed to hold them.
type secretWatch struct {
	secrets []string
	stores  []string
	// archived maps each file unpacked from the script's archive to the
	// hash of its content: a config that spells out a test secret is the
	// script's input, not a leak.
	archived map[string][32]byte
}

type secretWatchKey struct{}

// watchForSecrets records the script's own files and arranges the sweep.
func watchForSecrets(env *testscript.Env) error {
	work := env.Getenv("WORK")
	w := &secretWatch{archived: map[string][32]byte{}}
	err := filepath.WalkDir(work, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		w.archived[path] = sha256.Sum256(data)
		return err
	})
	if err != nil {
		return err
	}
	env.Values[secretWatchKey{}] = w
	env.Defer(func() {
		if leak := w.sweep(work); leak != "" {
			env.T().Fatal(leak)
		}
	})
	return nil
}

// cmdSecret declares secrets, or with -store the files that may hold them.
//
//	secret VALUE...
//	secret -store PATH...
func cmdSecret(ts *testscript.TestScript, neg bool, args []string) {
	w := ts.Value(secretWatchKey{}).(*secretWatch)
	if neg || len(args) == 0 {
		ts.Fatalf("usage: secret VALUE... | secret -store PATH...")
	}
	if args[0] == "-store" {
		for _, p := range args[1:] {
			w.stores = append(w.stores, ts.MkAbs(p))
		}
		return
	}
	w.secrets = append(w.secrets, args...)
}

// sweep returns a description of the first place a secret was found, or "".
// The description names the place and the secret's position in the
// declarations, never the secret.
func (w *secretWatch) sweep(work string) string {
	if len(w.secrets) == 0 {
		return ""
	}
	output, _ := os.ReadFile(filepath.Join(work, outputLogName))
	if i := w.find(string(output)); i >= 0 {
		return fmt.Sprintf("secret #%d appears in the tool's stdout or stderr", i+1)
	}
	var leak string
	filepath.WalkDir(work, func(path string, d fs.DirEntry, err error) error {
		// A symlink leads to a file the walk reaches on its own, or outside.
		if err != nil || !d.Type().IsRegular() || leak != "" || w.allowed(work, path) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		if h, ok := w.archived[path]; ok && h == sha256.Sum256(data) {
			return nil
		}
		if i := w.find(string(data)); i >= 0 {
			leak = fmt.Sprintf("secret #%d appears in %s", i+1, strings.TrimPrefix(path, work+string(filepath.Separator)))
		}
		return nil
	})
	return leak
}

// allowed reports whether path may hold a secret: config.json (a login's
// product), a declared store, or the output log (checked on its own).
func (w *secretWatch) allowed(work, path string) bool {
	if filepath.Base(path) == "config.json" || path == filepath.Join(work, outputLogName) {
		return true
	}
	for _, s := range w.stores {
		if path == s || strings.HasPrefix(path, s+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func (w *secretWatch) find(text string) int {
	for i, s := range w.secrets {
		if s != "" && strings.Contains(text, s) {
			return i
		}
	}
	return -1
}

// checkNoSecrets is the same sweep for Go tests: it fails t if any of
// secrets appears in one of outputs (what the tool printed, an error's
// text) or in any file under dir other than a config.json and the paths in
// stores (a credential helper's store). dir may be "" when the test left
// no files.
func checkNoSecrets(t testing.TB, secrets []string, dir string, stores []string, outputs ...string) {
	t.Helper()
	w := &secretWatch{secrets: secrets, stores: stores}
	for i, out := range outputs {
		if j := w.find(out); j >= 0 {
			t.Fatalf("secret #%d appears in output #%d", j+1, i+1)
		}
	}
	if dir != "" {
		if leak := w.sweep(dir); leak != "" {
			t.Fatal(leak)
		}
	}
}

// TestSecretSweep shows the sweep catches a secret in an earlier command's
// output, in a file left behind, and allows config.json and stores.
func TestSecretSweep(t *testing.T) {
	work := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("hosts.yaml", "value: s3cr3t")
	w := &secretWatch{secrets: []string{"other", "s3cr3t"}, archived: map[string][32]byte{
		filepath.Join(work, "hosts.yaml"): sha256.Sum256([]byte("value: s3cr3t")),
	}}
	write("docker/config.json", `{"auths":{"x":{"registrytoken":"s3cr3t"}}}`)
	write("fake.stdin", "s3cr3t")
	w.stores = []string{filepath.Join(work, "fake.stdin")}
	if leak := w.sweep(work); leak != "" {
		t.Fatalf("sweep of allowed files: %s", leak)
	}
	write(outputLogName, "✔ stored\n✗ oops s3cr3t\n")
	if leak := w.sweep(work); leak != "secret #2 appears in the tool's stdout or stderr" {
		t.Errorf("output leak: got %q", leak)
	}
	write(outputLogName, "")
	write("docker/config.json.tmp123", "s3cr3t")
	if leak := w.sweep(work); leak != "secret #2 appears in docker/config.json.tmp123" {
		t.Errorf("file leak: got %q", leak)
	}
}

// TestCheckNoSecretsOutputs shows the Go tests' check fails on a secret in
// any output, and names the output, not the secret.
func TestCheckNoSecretsOutputs(t *testing.T) {
	var failed string
	probe := &fatalRecorder{TB: t, fatal: func(msg string) { failed = msg }}
	func() {
		defer func() { recover() }()
		checkNoSecrets(probe, []string{"s3cr3t"}, "", nil, "clean", "✗ leaked s3cr3t")
	}()
	if failed != "secret #1 appears in output #2" {
		t.Errorf("got %q", failed)
	}
}

// fatalRecorder records a Fatalf instead of stopping the test.
type fatalRecorder struct {
	testing.TB
	fatal func(string)
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal(fmt.Sprintf(format, args...))
	panic("fatal")
}

func (r *fatalRecorder) Helper() {}
