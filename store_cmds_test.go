package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/rogpeppe/go-internal/testscript"
)

// storeCmds are script commands for checking what login stored.
var storeCmds = newStoreCmds()

func newStoreCmds() map[string]scriptCmd {
	return map[string]scriptCmd{
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

// keychainMain is the command scripts run as `exec keychain REF`: it
// prints the credential go-containerregistry's authn.DefaultKeychain (what
// crane and flux use) finds for REF's repository as one line,
// username=<u> password=<p> registrytoken=<t>. It is a process of its own,
// so the keychain reads the script's HOME, DOCKER_CONFIG and PATH exactly
// as crane would, and no script changes another's environment.
func keychainMain() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: keychain REF")
		os.Exit(2)
	}
	ac, err := keychainAuth(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "keychain %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Printf("username=%s password=%s registrytoken=%s\n", ac.Username, ac.Password, ac.RegistryToken)
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
	runScripts(t, filepath.Join("testdata", "dockerstore", "script"), *update)
}
