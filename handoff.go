package main

// The hand-off from the small helper to the full flux-mirror: a get the
// small binary cannot answer by itself (a token to mint, a config only the
// full binary can check) is run by the full binary as it is, with the same
// request on stdin, so that its answer, its exit code and its timeout
// (FLUX_MIRROR_TIMEOUT) are the full binary's own.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// fullProgram is the full binary's name, looked for beside the helper and
// then on PATH.
const fullProgram = "flux-mirror"

// exeSuffix ends a program's file name where the system wants one.
func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// handedOffEnv marks a get handed off: a small helper that receives one
// (a copy of itself installed as flux-mirror) fails instead of handing it
// on for ever.
const handedOffEnv = "FLUX_MIRROR_HANDED_OFF"

// errHandOff is a get only the full binary can answer.
var errHandOff = errors.New("this get needs the full flux-mirror binary")

// needsFullBinary reports whether the small helper must hand a get of h to
// the full binary: h mints, or its config has a host whose shape only the
// full binary can check.
func needsFullBinary(h helperHost) bool {
	if mintsToken(h.host) {
		return true
	}
	for _, other := range h.cfg.Hosts {
		if other.Provider != "" {
			return true
		}
	}
	return false
}

// findFullBinary is flux-mirror beside the running helper (the resolved
// executable: the release puts both in one folder), else on PATH. It is
// never the running binary itself.
func findFullBinary(env helperEnv) (string, error) {
	self, err := env.executable()
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	candidates := []string{filepath.Join(filepath.Dir(self), fullProgram+exeSuffix())}
	if p, err := exec.LookPath(fullProgram); err == nil {
		candidates = append(candidates, p)
	}
	selfInfo, _ := os.Stat(self)
	for _, c := range candidates {
		fi, err := os.Stat(c)
		if err != nil || fi.IsDir() || (selfInfo != nil && os.SameFile(fi, selfInfo)) {
			continue
		}
		return c, nil
	}
	return "", fmt.Errorf("%s: this get mints a token, which needs the full %s binary: found none beside %s or on PATH", helperProgram, fullProgram, self)
}

// handOffGet runs get in the full binary with request on its stdin and
// returns its exit code. Its stdout and stderr are the helper's.
func handOffGet(env helperEnv, request []byte, stdout, stderr io.Writer) int {
	if env.getenv(handedOffEnv) != "" {
		fmt.Fprintln(stdout, oneLineError(fmt.Errorf("%s: the get was handed here by a small helper, and this binary is one too: install the full %s", helperProgram, fullProgram)))
		return 1
	}
	full, err := findFullBinary(env)
	if err != nil {
		fmt.Fprintln(stdout, oneLineError(err))
		return 1
	}
	// argv[0] selects the full binary's helper mode, as the
	// docker-credential-flux-mirror link to it does.
	argv, environ := []string{helperProgram, "get"}, append(os.Environ(), handedOffEnv+"=1")
	if stdout == os.Stdout && stderr == os.Stderr {
		// Returns only if the exec failed; then the child below runs it.
		execHandOff(full, argv, environ, request)
	}
	cmd := &exec.Cmd{Path: full, Args: argv, Stdin: bytes.NewReader(request), Stdout: stdout, Stderr: stderr, Env: environ}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			return exit.ExitCode()
		}
		fmt.Fprintln(stdout, oneLineError(fmt.Errorf("%s get: %w", full, err)))
		return 1
	}
	return 0
}
