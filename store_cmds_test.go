package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rogpeppe/go-internal/testscript"
)

// storeCmds are script commands for checking what login stored.
var storeCmds = newStoreCmds()

func newStoreCmds() map[string]scriptCmd {
	// authn.DefaultKeychain reads the process environment, which every
	// script shares: one keychain look-up at a time.
	var keychainMu sync.Mutex
	return map[string]scriptCmd{
		// keychain REF prints the credential go-containerregistry's
		// authn.DefaultKeychain (what crane and flux use) finds for REF's
		// repository, under the script's HOME, DOCKER_CONFIG and PATH, as
		// one line: username=<u> password=<p> registrytoken=<t>.
		"keychain": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 1 {
				ts.Fatalf("usage: keychain REF")
			}
			keychainMu.Lock()
			defer keychainMu.Unlock()
			restore := useScriptEnv(ts)
			ac, err := keychainAuth(args[0])
			restore()
			switch {
			case err != nil && neg:
				return
			case err != nil:
				ts.Fatalf("keychain %s: %v", args[0], err)
			case neg:
				ts.Fatalf("keychain %s: found a credential", args[0])
			}
			fmt.Fprintf(ts.Stdout(), "username=%s password=%s registrytoken=%s\n", ac.Username, ac.Password, ac.RegistryToken)
		},
		// helperfake NAME writes $WORK/bin/docker-credential-NAME, a fake
		// credential helper that appends each call's arguments to
		// $WORK/NAME.argv, a store's stdin to $WORK/NAME.stdin and an
		// erase's stdin to $WORK/NAME.erase; get answers with the JSON last
		// stored for the server URL it is given. With $FAKE_HELPER_FAIL set
		// it prints that text on stdout and exits 1, as a failing helper
		// does.
		"helperfake": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: helperfake NAME")
			}
			work := ts.Getenv("WORK")
			ts.Check(writeFakeHelper(filepath.Join(work, "bin"), work, args[0]))
		},
	}
}

// keychainAuth is what authn.DefaultKeychain finds for ref's repository.
func keychainAuth(ref string) (authn.AuthConfig, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return authn.AuthConfig{}, err
	}
	a, err := authn.DefaultKeychain.Resolve(r.Context())
	if err != nil {
		return authn.AuthConfig{}, err
	}
	ac, err := a.Authorization()
	if err != nil {
		return authn.AuthConfig{}, err
	}
	return *ac, nil
}

// useScriptEnv sets, in the process, the variables the keychain and the
// helpers it runs depend on to the script's values, and returns a function
// that puts the old ones back.
func useScriptEnv(ts *testscript.TestScript) (restore func()) {
	keys := []string{"HOME", "DOCKER_CONFIG", "PATH", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE", "DOCKER_AUTH_CONFIG", "FAKE_HELPER_FAIL"}
	old := map[string]*string{}
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			old[k] = &v
		} else {
			old[k] = nil
		}
		if v := ts.Getenv(k); v != "" {
			os.Setenv(k, v)
		} else {
			os.Unsetenv(k)
		}
	}
	return func() {
		for k, v := range old {
			if v != nil {
				os.Setenv(k, *v)
			} else {
				os.Unsetenv(k)
			}
		}
	}
}

// fakeHelperScript is a recording credential helper; %[1]s is the folder it
// records in, %[2]s its name. A credential is kept in NAME.creds/ under the
// hex of its ServerURL, so that get finds it by exact URL as pass does.
const fakeHelperScript = `#!/bin/sh
# A fake docker-credential-%[2]s written by flux-mirror's tests. Its own
# PATH, so that a test may give flux-mirror a PATH of fake programs only.
PATH=/usr/bin:/bin
rec='%[1]s'
name='%[2]s'
printf '%%s\n' "$*" >> "$rec/$name.argv"
if [ -n "$FAKE_HELPER_FAIL" ]; then
	printf '%%s\n' "$FAKE_HELPER_FAIL"
	exit 1
fi
mkdir -p "$rec/$name.creds"
credfile() { printf '%%s' "$1" | od -An -tx1 | tr -d ' \n'; }
case "$1" in
store)
	cat > "$rec/$name.in"
	cat "$rec/$name.in" >> "$rec/$name.stdin"
	url=$(sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p' "$rec/$name.in")
	mv "$rec/$name.in" "$rec/$name.creds/$(credfile "$url")"
	;;
get)
	f="$rec/$name.creds/$(credfile "$(cat)")"
	if [ -f "$f" ]; then cat "$f"; else echo 'credentials not found in native keychain'; exit 1; fi
	;;
erase)
	cat > "$rec/$name.in"
	cat "$rec/$name.in" >> "$rec/$name.erase"
	url=$(cat "$rec/$name.in")
	f="$rec/$name.creds/$(credfile "$url")"
	if [ -f "$f" ]; then rm "$f"; else echo 'credentials not found in native keychain'; exit 1; fi
	;;
*)
	echo "unknown verb $1"
	exit 1
	;;
esac
`

// writeFakeHelper writes bin/docker-credential-NAME, recording in rec.
func writeFakeHelper(bin, rec, name string) error {
	if strings.ContainsAny(rec+name, "'\n") {
		return fmt.Errorf("fake helper: unusable folder or name %q", filepath.Join(rec, name))
	}
	script := fmt.Sprintf(fakeHelperScript, rec, name)
	return os.WriteFile(filepath.Join(bin, helperPrefix+name), []byte(script), 0o755)
}

// TestStoreCmds pins the behaviour of the script commands above, which
// the login scripts rely on: testdata/dockerstore/script/*.txt.
func TestStoreCmds(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("fake helpers are sh scripts")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "dockerstore", "script"),
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds:                scriptCmds(),
	})
}
