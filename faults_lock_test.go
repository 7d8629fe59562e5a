//go:build unix

package main

// Fault tests (see faults_test.go) of the Docker config lock: concurrent
// logins lose no entry, and a killed login's lock stops nobody.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestConcurrentLogins starts 16 logins at once into one Docker config,
// each for its own host of a shared config, five rounds in a row. The lock
// serialises their read-modify-write: after every round each host holds the
// token of that round, none has been lost or overwritten with an older one.
func TestConcurrentLogins(t *testing.T) {
	w := newFaultWorld(t)
	const n, rounds = 16, 5
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("reg%02d.example.com", i)
	}
	w.writeHosts(tokenHosts(hosts...))
	// An entry no login touches must survive every round too.
	writeConfig(t, w.docker, `{"auths": {"kept.example.com": {"auth": "a2VwdDprZXB0"}}}`)
	token := func(round, i int) string { return fmt.Sprintf("round%d-host%02d-s3cret", round, i) }

	for round := range rounds {
		type run struct {
			login          *background
			stdout, stderr *outputFile
		}
		runs := make([]run, n)
		for i := range runs {
			cmd, stdout, stderr := w.login([]string{"TOKEN=" + token(round, i)}, "--host", hosts[i])
			runs[i] = run{startBackground(t, cmd), stdout, stderr}
		}
		var secrets, outputs []string
		for i, r := range runs {
			<-r.login.exited
			code := exitCode(t, r.login.err)
			secret := token(round, i)
			secrets = append(secrets, secret)
			outputs = append(outputs, r.stdout.String(), r.stderr.String())
			want := "✔ stored registry token for " + hosts[i] + " in " + w.configPath() + "\n"
			if code != 0 || r.stdout.String() != want {
				t.Errorf("round %d, %s: exit %d, stdout %q, stderr %q", round, hosts[i], code, redact(r.stdout.String(), secret), redact(r.stderr.String(), secret))
			}
		}
		// Every login of the round has exited: no output, and no file but
		// config.json, holds a token of the round (a temp file of one
		// still running would hold the others').
		checkNoSecrets(t, secrets, w.root, nil, outputs...)
		var cfg struct {
			Auths map[string]map[string]string `json:"auths"`
		}
		if err := json.Unmarshal(w.readConfig(), &cfg); err != nil {
			t.Fatalf("round %d: config.json does not parse: %v", round, err)
		}
		if len(cfg.Auths) != n+1 || cfg.Auths["kept.example.com"]["auth"] != "a2VwdDprZXB0" {
			t.Errorf("round %d: %d entries, kept.example.com %v; want %d and kept.example.com intact", round, len(cfg.Auths), cfg.Auths["kept.example.com"] != nil, n+1)
		}
		for i, h := range hosts {
			if cfg.Auths[h]["registrytoken"] != token(round, i) {
				t.Errorf("round %d: %s lost its token (it holds another round's, or none)", round, h)
			}
		}
		if t.Failed() {
			return
		}
	}
}

// TestLockOfKilledLogin kills, with SIGKILL, a login that holds the lock
// while a credential helper answers: the kernel releases a flock with its
// holder, so a login waiting for the lock goes on, and the lock file left
// behind stops nobody. The helper, still running, must not hold the lock
// either: it never inherits the lock's descriptor.
func TestLockOfKilledLogin(t *testing.T) {
	w := newFaultWorld(t)
	pidFile := filepath.Join(w.root, "helper.pid")
	t.Cleanup(func() { killChild(t, pidFile) })
	fakeProgram(t, w.bin, "docker-credential-stuck", `echo $$ > '`+pidFile+`.tmp' && mv '`+pidFile+`.tmp' '`+pidFile+`'; exec sleep 60`)
	original := `{"auths": {}, "credHelpers": {"held.example.com": "stuck"}}`
	writeConfig(t, w.docker, original)
	w.writeHosts("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n" +
		"  - host: held.example.com\n    username: robot\n    credential:\n      value: ${TOKEN}\n" +
		"  - host: free.example.com\n    credential:\n      value: ${TOKEN}\n")
	const heldSecret, freeSecret = "held-s3cret", "free-s3cret"
	lockPath := w.configPath() + ".lock"

	cmd, holderOut, holderErr := w.login([]string{"TOKEN=" + heldSecret}, "--host", "held.example.com")
	holder := startBackground(t, cmd)
	// The helper runs under the lock: once it has started, the lock is
	// held.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper did not start within 20s")
		}
	}
	if !lockHeld(t, lockPath) {
		t.Fatal("config.json.lock is not locked while login waits on the helper")
	}

	cmd, waiterOut, waiterErr := w.login([]string{"TOKEN=" + freeSecret}, "--host", "free.example.com")
	waiter := startBackground(t, cmd)
	// While the lock is held the second login cannot store. (Were it not
	// waiting, it would be done in well under the half second.)
	select {
	case <-waiter.exited:
		t.Fatalf("login finished while another held the lock (%v)", waiter.err)
	case <-time.After(500 * time.Millisecond):
	}
	if got := string(w.readConfig()); got != original {
		t.Fatal("config.json changed while the lock was held")
	}

	// SIGKILL: no deferred unlock runs; only the kernel can release it.
	if err := holder.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-holder.exited
	if !killedBySIGKILL(holder.err) {
		t.Fatalf("holder ended with %v, want killed", holder.err)
	}
	select {
	case <-waiter.exited:
		if code := exitCode(t, waiter.err); code != 0 {
			t.Fatalf("waiting login: exit %d, stderr %q", code, redact(waiterErr.String(), freeSecret))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the waiting login did not finish within 20s of the holder's death: the lock is still held (by the helper?)")
	}
	checkNoSecrets(t, []string{heldSecret, freeSecret}, w.root, nil, holderOut.String(), holderErr.String(), waiterOut.String(), waiterErr.String())
	if want := "✔ stored registry token for free.example.com in " + w.configPath() + "\n"; waiterOut.String() != want {
		t.Errorf("stdout %q, want %q", redact(waiterOut.String(), freeSecret), want)
	}

	// The killed login stored nothing; the waiting one stored its host
	// over the file as it was.
	want := "{\n\t\"auths\": {\n\t\t\"free.example.com\": {\n\t\t\t\"registrytoken\": \"" + freeSecret + "\"\n\t\t}\n\t},\n\t\"credHelpers\": {\n\t\t\"held.example.com\": \"stuck\"\n\t}\n}"
	if got := string(w.readConfig()); got != want {
		t.Errorf("config.json is %q, want only free.example.com's token added", redact(got, freeSecret))
	}
	if lockHeld(t, lockPath) {
		t.Error("config.json.lock is still locked after every login ended")
	}
	// The lock file stays, and the next login takes it at once.
	cmd, _, stderr := w.login([]string{"TOKEN=" + freeSecret}, "--host", "free.example.com")
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Errorf("login over the left lock file: exit %d, stderr %q", code, redact(stderr.String(), freeSecret))
	}
}

// lockHeld reports whether another open file holds a flock on path.
func lockHeld(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true
	}
	if err != nil {
		t.Fatalf("flock %s: %v", path, err)
	}
	return false
}
