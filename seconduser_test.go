//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nobodyUID is the second local user: the attacker, while the test (root)
// is the victim, as in a CI container.
const nobodyUID = 65534

// asNobody runs a shell script as nobody with no groups, or skips the
// test where that cannot be done.
func asNobody(t *testing.T, script string, args ...string) (string, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a second local user needs root to switch to nobody: skipping")
	}
	// The test's PATH is its own: look where util-linux installs it.
	setpriv := ""
	for _, p := range []string{"/usr/bin/setpriv", "/bin/setpriv"} {
		if _, err := os.Stat(p); err == nil {
			setpriv = p
			break
		}
	}
	if setpriv == "" {
		t.Skip("setpriv is not installed: skipping the second-user test")
	}
	cmd := exec.Command(setpriv, append([]string{fmt.Sprintf("--reuid=%d", nobodyUID), fmt.Sprintf("--regid=%d", nobodyUID), "--clear-groups", "sh", "-c", script, "sh"}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// openToOthers lets other users reach w's folders (t.TempDir makes them
// 0700), so that only flux-mirror's own folders and files stand between
// nobody and the victim's tokens.
func openToOthers(t *testing.T, w *helperWorld, dirs ...string) {
	t.Helper()
	for _, d := range append([]string{filepath.Dir(w.dir), w.dir}, dirs...) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHelperSecondUserCannotPlant: nobody, given a shared cache and
// config base (a 1777 folder, as XDG_* pointing at /tmp would be), plants
// a cache entry with their token and a registration pointing at their
// config. root's get serves neither, writes nothing in nobody's folders,
// and login --helper refuses to register there.
func TestHelperSecondUserCannotPlant(t *testing.T) {
	w := newHelperWorld(t)
	shared := filepath.Join(w.dir, "shared")
	openToOthers(t, w, shared)
	for _, d := range []string{"cache", "config"} {
		if err := os.Mkdir(filepath.Join(shared, d), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(shared, d), 0o1777); err != nil {
			t.Fatal(err)
		}
	}
	w.cacheDir = filepath.Join(shared, "cache")
	t.Setenv("XDG_CACHE_HOME", w.cacheDir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(shared, "config"))
	w.writeConfig(t, actionsConfig)
	token := expiringJWT(t, w.now.Add(time.Hour))
	startActionsFake(t, token, 0)

	entry := victimEntry(t, w)
	evilConfig := filepath.Join(shared, "config", "evil.yaml")
	regFile, _ := registrationPath(w.env())
	if out, err := asNobody(t, `set -e
mkdir -m 0777 "$1" "$2"
printf '%s' "$3" > "$1/$4"; chmod 0600 "$1/$4"
printf '%s' "$5" > "$6"; chmod 0644 "$6"
printf '{"reg.example.com":"%s"}' "$6" > "$7"; chmod 0600 "$7"`,
		filepath.Dir(entry), filepath.Dir(regFile), string(plantedEntry(t, "ci")), filepath.Base(entry),
		strings.Replace(actionsConfig, "credential:\n      provider: github", "credential:\n      value: "+attackerToken, 1), evilConfig, regFile); err != nil {
		t.Fatalf("nobody plants: %v\n%s", err, out)
	}
	before, _ := os.ReadDir(filepath.Dir(entry))

	// The planted cache entry: the get mints and warns.
	code, stdout, stderr := w.get(t, "reg.example.com")
	checkNoSecrets(t, []string{attackerToken}, "", nil, stdout, stderr)
	if code != 0 || !strings.Contains(stdout, token) {
		t.Fatalf("get: exit %d, stderr %q; want the minted token", code, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("is owned by uid %d", nobodyUID)) {
		t.Errorf("get: stderr %q; want a warning naming nobody's folder", stderr)
	}
	if after, _ := os.ReadDir(filepath.Dir(entry)); len(after) != len(before) {
		t.Errorf("the get wrote into nobody's cache folder: %d files, was %d", len(after), len(before))
	}

	// The planted registration: not used by get, refused by login --helper.
	t.Setenv("FLUX_MIRROR_CONFIG", "")
	code, stdout, stderr = w.get(t, "reg.example.com")
	checkNoSecrets(t, []string{attackerToken, token}, "", nil, stdout, stderr)
	if code != 1 || stdout != errCredentialsNotFound+"\n" {
		t.Fatalf("get with nobody's registration: exit %d, stdout %q; want not found", code, stdout)
	}
	cfg := filepath.Join(w.dir, "config.yaml")
	if code, _, stderr := runRealLogin(t, "login", "--helper", "-f", cfg); code == 0 || !strings.Contains(stderr, fmt.Sprintf("owned by uid %d", nobodyUID)) {
		t.Fatalf("login --helper into nobody's folder: exit %d, stderr %q; want it refused", code, stderr)
	}

	// An entry nobody owns in root's own folder (planted while the folder
	// was looser) is refused too.
	own := newHelperWorld(t)
	own.writeConfig(t, actionsConfig)
	startActionsFake(t, token, 0)
	ownEntry := victimEntry(t, own)
	if err := os.MkdirAll(filepath.Dir(ownEntry), 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, ownEntry, plantedEntry(t, "ci"), 0o600)
	if err := os.Chown(ownEntry, nobodyUID, nobodyUID); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = own.get(t, "reg.example.com")
	checkNoSecrets(t, []string{attackerToken}, "", nil, stdout, stderr)
	if code != 0 || !strings.Contains(stdout, token) {
		t.Fatalf("get over nobody's entry: exit %d, stderr %q; want the minted token", code, stderr)
	}
}

// TestHelperSecondUserCannotRead: after root's login --helper and a get
// that cached a token, nobody can list neither folder nor read any file
// flux-mirror keeps, even with every folder above them open.
func TestHelperSecondUserCannotRead(t *testing.T) {
	w := newHelperWorld(t)
	home := os.Getenv("HOME")
	openToOthers(t, w, home, filepath.Join(home, ".cache"), filepath.Join(home, ".config"))
	cfg := filepath.Join(w.dir, "config.yaml")
	mustWrite(t, cfg, []byte(actionsConfig), 0o600)
	token := expiringJWT(t, w.now.Add(time.Hour))
	startActionsFake(t, token, 0)
	if code, _, stderr := runRealLogin(t, "login", "--helper", "-f", cfg); code != 0 {
		t.Fatalf("login --helper: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := w.get(t, "reg.example.com"); code != 0 {
		t.Fatalf("get: exit %d, stderr %q", code, stderr)
	}
	var files []string
	for _, d := range []string{filepath.Join(home, ".cache", cacheFolderName), filepath.Join(home, ".config", cacheFolderName)} {
		entries, err := os.ReadDir(d)
		if err != nil || len(entries) == 0 {
			t.Fatalf("%s: %v, %d files; want the helper's files", d, err, len(entries))
		}
		for _, e := range entries {
			files = append(files, filepath.Join(d, e.Name()))
		}
		if out, err := asNobody(t, `ls "$1"`, d); err == nil {
			t.Errorf("nobody listed %s:\n%s", d, out)
		}
	}
	for _, f := range files {
		out, err := asNobody(t, `cat "$1"`, f)
		checkNoSecrets(t, []string{token}, "", nil, out)
		if err == nil {
			t.Errorf("nobody read %s", f)
		}
	}
}
