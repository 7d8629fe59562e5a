//go:build !smallhelper

package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
)

func main() {
	// A run lasts milliseconds. With Go's default GOGC the collector
	// would start mid-login to reclaim a few MB that exit reclaims anyway,
	// marking the whole heap the dependencies built at init, which the
	// per-run budget of bench/README.md cannot afford. At 400 the heap may grow to five times its live size first, which a
	// config of thousands of hosts still keeps to tens of MB. A GOGC set
	// by the user wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(runAs(os.Args[0], os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// runAs is run, unless the program runs as docker-credential-flux-mirror
// (a link to this binary, which is how docker finds a credential helper):
// then it speaks the credential helper protocol instead.
func runAs(argv0 string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if strings.TrimSuffix(filepath.Base(argv0), ".exe") == helperProgram {
		return runCredentialHelper(args, osHelperEnv(), stdin, stdout, stderr)
	}
	return run(args, stdin, stdout, stderr)
}
