package main

// Credential helpers: which one holds a host's credential, as docker
// decides, and the protocol, as docker-credential-helpers' client package
// speaks it: run docker-credential-<name> <verb>, write the request on
// stdin, read the answer or the error text on stdout.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// helperPrefix starts every credential helper's program name.
const helperPrefix = "docker-credential-"

// errCredentialsNotFound is the answer of a helper that holds nothing for
// the server URL it was given (docker-credential-helpers
// credentials.errCredentialsNotFoundMessage).
const errCredentialsNotFound = "credentials not found in native keychain"

// helperWaitDelay bounds how long a helper call waits, once the helper has
// exited or been killed at the deadline, for a child it left holding its
// stdout.
const helperWaitDelay = time.Second

// helperFor picks the credential helper for key as docker does
// (configfile.GetCredentialsStore): credHelpers[key], else credsStore, else,
// on a config that was fresh when loaded, the platform's default helper,
// reported as detected. "" means config.json. A credHelpers entry that is
// present but empty means config.json for that key, even with a credsStore,
// because that is how docker and go-containerregistry will read it back.
func (s *dockerStore) helperFor(key string, plaintext bool) (helper string, detected bool) {
	if plaintext {
		return "", false
	}
	if h, ok := s.cfg.credHelpers[key]; ok {
		return h, false
	}
	if s.cfg.credsStore != "" {
		return s.cfg.credsStore, false
	}
	if s.fresh && s.detected != "" {
		return s.detected, true
	}
	return "", false
}

// defaultHelper is the credential helper docker picks on a fresh config
// (docker/cli credentials.DetectDefaultStore and defaultCredentialsStore_*):
// the platform's, kept only when its docker-credential- program is on PATH.
// On linux, pass wins when the pass program itself is on PATH, without
// falling back to secretservice when docker-credential-pass is missing.
func defaultHelper(goos string, lookPath func(string) (string, error)) string {
	var name string
	switch goos {
	case "darwin":
		name = "osxkeychain"
	case "windows":
		name = "wincred"
	case "linux":
		name = "secretservice"
		if _, err := lookPath("pass"); err == nil {
			name = "pass"
		}
	default:
		return ""
	}
	if _, err := lookPath(helperPrefix + name); err != nil {
		return ""
	}
	return name
}

// storeWithHelper hands username and secret for key to the credential
// helper name: `docker-credential-<name> store` with one line of JSON on
// stdin, encoded as docker encodes it.
func storeWithHelper(ctx context.Context, name, key, username, secret string, stderr io.Writer) error {
	var stdin bytes.Buffer
	err := json.NewEncoder(&stdin).Encode(struct {
		ServerURL string
		Username  string
		Secret    string
	}{key, username, secret})
	if err != nil {
		return err
	}
	_, err = runHelper(ctx, name, "store", stdin.Bytes(), secret, stderr)
	return err
}

// eraseWithHelper asks the credential helper name to forget key, sent
// without a newline as docker sends it, and reports whether it held
// anything.
func eraseWithHelper(ctx context.Context, name, key string, stderr io.Writer) (bool, error) {
	out, err := runHelper(ctx, name, "erase", []byte(key), "", stderr)
	if err != nil {
		if out == errCredentialsNotFound {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// runHelper runs `docker-credential-<name> <verb>` with stdin and returns
// its trimmed stdout. A helper reports failure with a non-zero exit and its
// message on stdout; the error carries that message unless it holds secret
// (a broken or hostile helper could echo its stdin back), in which case the
// message is withheld. The helper's stderr goes to stderr, as with docker,
// once it has exited, under the same rule (see heldStderr).
func runHelper(ctx context.Context, name, verb string, stdin []byte, secret string, stderr io.Writer) (string, error) {
	program := helperPrefix + name
	path, err := findHelper(name, verb)
	if err != nil {
		return "", err
	}
	// overflow ends the helper at once, as the deadline would.
	ctx, overflow := context.WithCancel(ctx)
	defer overflow()
	cmd := exec.CommandContext(ctx, path, verb)
	inOwnProcessGroup(cmd)
	cmd.Stdin = bytes.NewReader(stdin)
	stdout := &boundedOutput{overflow: overflow}
	cmd.Stdout = stdout
	errOut := &heldStderr{}
	cmd.Stderr = errOut
	cmd.WaitDelay = helperWaitDelay
	err = cmd.Run()
	errOut.copyTo(stderr, program+" "+verb, secret)
	if stdout.tooLarge() {
		return "", fmt.Errorf("%s %s: %w", program, verb, errOutputTooLarge)
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		// The helper exited 0, the protocol's success, but a child of it
		// (an agent or daemon it started) still holds its stdout: its
		// answer is what it wrote before exiting.
		err = nil
	}
	out := strings.TrimSpace(stdout.buf.String())
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("%s %s: %w", program, verb, ctx.Err())
	}
	// A helper that echoes part of its stdin (a prefix, its base64) would
	// leak the secret through its message: see redact.go.
	if echoesSecret(out, secret) {
		return "", fmt.Errorf("%s %s: %s (its message is withheld because it contains the secret)", program, verb, err)
	}
	if out == "" {
		return "", fmt.Errorf("%s %s: %w", program, verb, err)
	}
	// A secret the caller does not know (the answer of a get, an ambient
	// token) is caught by its shape.
	return out, fmt.Errorf("%s %s: %s", program, verb, boundText(redactForeign(out, os.Environ()), maxEchoTextBytes))
}

// findHelper is the path of the credential helper name's program, for a
// call of verb, or why it cannot be run. The name comes from config.json.
// One with a path separator or a leading dot could point outside PATH
// (docker-credential-../../tmp/x) or at a hidden file: never run it.
func findHelper(name, verb string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("credential helper name %q refused: it must not be empty, contain a path separator or start with \".\"", name)
	}
	program := helperPrefix + name
	path, err := exec.LookPath(program)
	switch {
	case errors.Is(err, exec.ErrNotFound) && verb == "store":
		return "", fmt.Errorf("%s %s: %s not found in $PATH; install it, or use --plaintext to store the credential in config.json", program, verb, program)
	case errors.Is(err, exec.ErrNotFound):
		return "", fmt.Errorf("%s %s: %s not found in $PATH", program, verb, program)
	case err != nil:
		return "", fmt.Errorf("%s %s: %w", program, verb, err)
	}
	return path, nil
}

// readBack asks helper for key's credential right after storing a, as
// docker's next pull will: a helper can answer store with success and
// keep nothing (a locked keychain, a pass store without a gpg key, a
// helper that only pretends). The error never holds either secret; like
// every get, the helper's stderr is not shown.
func readBack(ctx context.Context, helper, key string, a hostAuth) error {
	username, secret, found, err := getWithHelper(ctx, helper, key, a.Password)
	switch {
	case err != nil:
		return fmt.Errorf("reading the credential back after store: %w", err)
	case !found:
		return fmt.Errorf("%s%s did not keep the credential: its get finds nothing for %s right after store", helperPrefix, helper, key)
	case username != a.Username || secret != a.Password:
		return fmt.Errorf("%s%s did not keep the credential: its get returns another one for %s right after store", helperPrefix, helper, key)
	}
	return nil
}

// getWithHelper asks the credential helper name for key's credential,
// sent without a newline as docker sends it. found is false when the
// helper holds nothing for key. known is the secret the caller expects
// the helper to hold ("" when it does not know it): a failure message that
// repeats it is withheld. The helper's stderr is never shown, as docker's
// client (docker-credential-helpers client.Get, which runs cmd.Output)
// never shows it: a helper that has just answered with the secret may
// well log it there.
func getWithHelper(ctx context.Context, name, key, known string) (username, secret string, found bool, err error) {
	out, err := runHelper(ctx, name, "get", []byte(key), known, nil)
	if err != nil {
		if out == errCredentialsNotFound {
			return "", "", false, nil
		}
		return "", "", false, err
	}
	var answer struct {
		Username string
		Secret   string
	}
	if err := json.Unmarshal([]byte(out), &answer); err != nil {
		// Never quote the answer: it is meant to hold a secret.
		return "", "", false, fmt.Errorf("%s%s get: answer is not JSON {\"Username\", \"Secret\"}", helperPrefix, name)
	}
	if answer.Username == "" && answer.Secret == "" {
		return "", "", false, nil
	}
	return answer.Username, answer.Secret, true, nil
}
