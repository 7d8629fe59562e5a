//go:build unix

package main

// Fault tests (see faults_test.go) of where the Docker config is locked
// and written: a config.json that is not a regular file, two Docker config
// folders linked to one config.json, a lock left by root, and a lock held
// longer than --timeout.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitExited waits, at most 20s, for a started login, and returns its
// exit code: a login blocked on a FIFO or a lock would otherwise hang the
// test.
func waitExited(t *testing.T, b *background, what string) int {
	t.Helper()
	select {
	case <-b.exited:
		return exitCode(t, b.err)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not end within 20s", what)
		return -1
	}
}

// TestConfigNotRegularFile points config.json at a FIFO, and, through a
// symlink, at a null device (the `-v /dev/null:/root/.docker/config.json`
// pattern): login and --dry-run refuse it, and touch nothing: no chmod, no
// write, no replace, no lock file created.
func TestConfigNotRegularFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		// make creates config.json in folder and returns the file it
		// resolves to.
		make func(t *testing.T, folder string) string
		want string
	}{
		{
			name: "fifo",
			make: func(t *testing.T, folder string) string {
				path := filepath.Join(folder, configFileName)
				if err := unix.Mkfifo(path, 0o644); err != nil {
					t.Fatal(err)
				}
				return path
			},
			want: "is a named pipe, not a regular file: refusing to read or write it",
		},
		{
			// A null device of our own, made as /dev/null is (char 1,3):
			// a broken refusal must not replace or chmod the machine's
			// /dev/null, which every process here shares (it happened).
			name: "symlink to a null device",
			make: func(t *testing.T, folder string) string {
				if os.Geteuid() != 0 {
					t.Skip("making a device node needs root")
				}
				null := filepath.Join(filepath.Dir(folder), "null")
				if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
					t.Skipf("mknod: %v", err)
				}
				// mknod's mode is masked by the umask.
				if err := os.Chmod(null, 0o666); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(null, filepath.Join(folder, configFileName)); err != nil {
					t.Fatal(err)
				}
				return null
			},
			want: "is a device, not a regular file: refusing to read or write it",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const secret = "notregular-s3cret"
			w := newFaultWorld(t)
			target := tc.make(t, w.docker)
			before, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			w.writeHosts(tokenHosts("registry.example.com"))

			for _, args := range [][]string{{"--dry-run"}, nil} {
				cmd, stdout, stderr := w.login([]string{"TOKEN=" + secret}, append(args, "--timeout", "5s")...)
				code := waitExited(t, startBackground(t, cmd), fmt.Sprintf("login %v", args))
				checkNoSecrets(t, []string{secret}, w.root, nil, stdout.String(), stderr.String())
				if code != 1 || !strings.Contains(stderr.String(), tc.want) {
					t.Errorf("login %v: exit %d, stderr %q; want 1 and %q", args, code, stderr.String(), tc.want)
				}
				after, err := os.Stat(target)
				if err != nil {
					t.Fatal(err)
				}
				if after.Mode() != before.Mode() || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
					t.Errorf("login %v: %s is now %v (was %v), same file %v", args, target, after.Mode(), before.Mode(), os.SameFile(before, after))
				}
				if _, err := os.Lstat(target + ".lock"); err == nil {
					t.Errorf("login %v created %s.lock", args, target)
				}
				entries, err := os.ReadDir(w.docker)
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != 1 {
					t.Errorf("login %v left %d files in the docker config folder, want config.json only", args, len(entries))
				}
			}
		})
	}
}

// TestLinkedConfigsShareLock runs concurrent logins through two Docker
// config folders whose config.json link to one file. They take one lock,
// beside that file: every round, every host's token is there, and none of
// them fails on a temp file another removed.
func TestLinkedConfigsShareLock(t *testing.T) {
	w := newFaultWorld(t)
	shared := filepath.Join(w.root, "shared")
	folders := []string{filepath.Join(w.root, "a"), filepath.Join(w.root, "b")}
	writeConfig(t, shared, `{"auths": {}}`)
	for _, f := range folders {
		if err := os.Mkdir(f, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(shared, configFileName), filepath.Join(f, configFileName)); err != nil {
			t.Fatal(err)
		}
	}
	const n, rounds = 12, 4
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("reg%02d.example.com", i)
	}
	w.writeHosts(tokenHosts(hosts...))
	token := func(round, i int) string { return fmt.Sprintf("linked-round%d-host%02d-s3cret", round, i) }

	for round := range rounds {
		runs := make([]*background, n)
		var outputs []*outputFile
		for i := range runs {
			// Alternate folders, so that each login races the other
			// folder's.
			cmd, stdout, stderr := w.login([]string{"TOKEN=" + token(round, i), "DOCKER_CONFIG=" + folders[i%2]}, "--host", hosts[i])
			runs[i] = startBackground(t, cmd)
			outputs = append(outputs, stdout, stderr)
		}
		var secrets, texts []string
		for i, r := range runs {
			code := waitExited(t, r, hosts[i]+"'s login")
			secrets = append(secrets, token(round, i))
			if code != 0 {
				t.Errorf("round %d, %s: exit %d, stderr %q", round, hosts[i], code, redact(outputs[2*i+1].String(), token(round, i)))
			}
		}
		for _, o := range outputs {
			texts = append(texts, o.String())
		}
		checkNoSecrets(t, secrets, w.root, nil, texts...)
		data, err := os.ReadFile(filepath.Join(shared, configFileName))
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range hosts {
			if !strings.Contains(string(data), fmt.Sprintf("%q: {\n\t\t\t\"registrytoken\": %q", h, token(round, i))) {
				t.Errorf("round %d: %s lost its token", round, h)
			}
		}
		if t.Failed() {
			return
		}
	}
	if _, err := os.Lstat(filepath.Join(shared, configFileName+".lock")); err != nil {
		t.Errorf("no lock beside the shared config.json: %v", err)
	}
	for _, f := range folders {
		if _, err := os.Lstat(filepath.Join(f, configFileName+".lock")); err == nil {
			t.Errorf("a lock beside the link in %s", f)
		}
	}
}

// TestLockSymlinkNotFollowed plants config.json.lock as a symlink to a
// file elsewhere: login refuses it and neither creates nor locks the file
// it points to.
func TestLockSymlinkNotFollowed(t *testing.T) {
	const secret = "locklink-s3cret"
	w := newFaultWorld(t)
	elsewhere := filepath.Join(w.root, "elsewhere")
	if err := os.Symlink(elsewhere, w.configPath()+".lock"); err != nil {
		t.Fatal(err)
	}
	w.writeHosts(tokenHosts("registry.example.com"))
	cmd, stdout, stderr := w.login([]string{"TOKEN=" + secret})
	code := exitCode(t, cmd.Run())
	checkNoSecrets(t, []string{secret}, w.root, nil, stdout.String(), stderr.String())
	// Every error passes the redaction rule, which masks the long run in
	// the test's temp folder name as it would a key.
	want := redactForeign("✗ locking the docker config: "+w.configPath()+".lock is a symbolic link: refusing to follow it\n", nil)
	if code != 1 || stderr.String() != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), want)
	}
	if _, err := os.Lstat(elsewhere); err == nil {
		t.Error("login created the file the lock's symlink points to")
	}
}

// TestLockOwnedAsConfig: root's login gives a new lock the owner of the
// user's config.json, as it gives config.json itself.
func TestLockOwnedAsConfig(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file another owner")
	}
	dir := t.TempDir()
	writeConfig(t, dir, `{"auths": {}}`)
	if err := os.Chown(filepath.Join(dir, configFileName), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	s, err := openDockerStore(dir, testLockWait)
	if err != nil {
		t.Fatal(err)
	}
	s.close()
	fi, err := os.Stat(filepath.Join(dir, configFileName+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("lock owned by %d:%d, want 1000:1000, config.json's owner", st.Uid, st.Gid)
	}
}

// TestRootLockDoesNotLockOwnerOut: a root-owned 0600 config.json.lock, as
// a root login of an older release left it, does not stop the folder's
// owner's own login.
func TestRootLockDoesNotLockOwnerOut(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a login as another user")
	}
	const uid, gid = 1000, 1000
	const secret = "rootlock-s3cret"
	w := newFaultWorld(t)
	// The user runs a copy of flux-mirror they may enter the folder of;
	// it is outside the world, whose files the secret sweep reads, because
	// the test binary holds the secret as a constant.
	exeDir := t.TempDir()
	exe := filepath.Join(exeDir, "flux-mirror")
	data, err := os.ReadFile(w.exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	w.exe = exe
	for _, d := range []string{filepath.Dir(w.root), exeDir, w.root, w.bin} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.writeHosts(tokenHosts("registry.example.com"))
	writeConfig(t, w.docker, `{"auths": {}}`)
	lock := w.configPath() + ".lock"
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{w.docker, w.configPath(), filepath.Join(w.root, "home"), filepath.Join(w.root, "hosts.yaml")} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}

	cmd, stdout, stderr := w.login([]string{"TOKEN=" + secret})
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	code := exitCode(t, cmd.Run())
	checkNoSecrets(t, []string{secret}, w.root, nil, stdout.String(), stderr.String())
	if code != 0 {
		t.Fatalf("the owner's login: exit %d, stderr %q", code, redact(stderr.String(), secret))
	}
	if !strings.Contains(string(w.readConfig()), `"registrytoken": "`+secret+`"`) {
		t.Error("the owner's login did not store its token")
	}
	fi, err := os.Stat(lock)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid {
		t.Errorf("lock owned by %d after the owner's login, want %d", st.Uid, uid)
	}
}

// TestLockWaitBounded holds the Docker config lock longer than --timeout:
// login and logout give up after it, naming the lock file, and write
// nothing.
func TestLockWaitBounded(t *testing.T) {
	const secret = "lockwait-s3cret"
	w := newFaultWorld(t)
	const original = `{"auths": {"registry.example.com": {"registrytoken": "old"}}}`
	writeConfig(t, w.docker, original)
	w.writeHosts(tokenHosts("registry.example.com"))
	lockPath := w.configPath() + ".lock"
	held, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	for _, command := range []string{"login", "logout"} {
		cmd, stdout, stderr := w.login([]string{"TOKEN=" + secret}, "--timeout", "1s")
		cmd.Args[1] = command
		start := time.Now()
		code := waitExited(t, startBackground(t, cmd), command)
		took := time.Since(start)
		checkNoSecrets(t, []string{secret}, w.root, nil, stdout.String(), stderr.String())
		want := "^✗ locking the docker config: timed out after 1s waiting for the lock on " + regexp.QuoteMeta(lockPath) + ` \(another login or logout holds it\)\n$`
		if code != 1 || !regexp.MustCompile(want).MatchString(stderr.String()) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %s", command, code, redact(stderr.String(), secret), want)
		}
		if took < time.Second || took > 10*time.Second {
			t.Errorf("%s gave up after %v, want about 1s", command, took)
		}
		if got := string(w.readConfig()); got != original {
			t.Errorf("%s changed config.json while another held the lock", command)
		}
	}
}
