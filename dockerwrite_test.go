package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// checkNoTempFiles fails the test if dir holds anything but config.json
// and its lock file.
func checkNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != configFileName && e.Name() != configFileName+".lock" {
			t.Errorf("%s left in %s", e.Name(), dir)
		}
	}
}

func TestUnchangedNotRewritten(t *testing.T) {
	dir, bin := storeWorld(t)
	fakeHelper(t, bin, "fake")
	// Not docker's formatting, and a helper entry already {} with its
	// credHelpers entry: storing the same credentials again changes nothing.
	content := `{"credsStore": "fake", "credHelpers": {"quay.io": "fake"}, "auths": {"quay.io": {}, "ghcr.io": {"auth": "dXNlcjpzM2NyZXQtcEBzcw=="}}}`
	writeConfig(t, dir, content)
	path := filepath.Join(dir, configFileName)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	storeOnce(t, dir, true, map[string]hostAuth{"ghcr.io": {Username: "user", Password: testPassword}})
	storeOnce(t, dir, false, map[string]hostAuth{"quay.io": {Username: "user", Password: testPassword}})
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(old) {
		t.Errorf("config.json rewritten (same file %v, mtime %v)", os.SameFile(before, after), after.ModTime())
	}
	if got := readFile(t, path); got != content {
		t.Errorf("config.json changed to %s", got)
	}
}

func TestModeKept(t *testing.T) {
	dir, _ := storeWorld(t)
	writeConfig(t, dir, `{}`)
	path := filepath.Join(dir, configFileName)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	storeOnce(t, dir, true, map[string]hostAuth{"ghcr.io": {Username: "user", Password: testPassword}})
	checkMode(t, path, 0o644)
	if got := readFile(t, path); !strings.Contains(got, "ghcr.io") {
		t.Errorf("not stored:\n%s", got)
	}
}

func TestSymlinkWrittenThrough(t *testing.T) {
	for _, tc := range []struct {
		name    string
		link    string // config.json's link target, relative to the docker folder
		content string // the target's content; "" for none
	}{
		{"relative", "../real/config.json", `{"auths":{"quay.io":{}}}`},
		{"chain", "link2.json", `{"auths":{"quay.io":{}}}`},
		{"dangling", "../real/config.json", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := storeWorld(t)
			real := filepath.Join(filepath.Dir(dir), "real")
			for _, d := range []string{dir, real} {
				if err := os.MkdirAll(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			target := filepath.Join(real, configFileName)
			if tc.content != "" {
				if err := os.WriteFile(target, []byte(tc.content), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if tc.link == "link2.json" {
				if err := os.Symlink(target, filepath.Join(dir, "link2.json")); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, configFileName)
			if err := os.Symlink(tc.link, path); err != nil {
				t.Fatal(err)
			}
			storeOnce(t, dir, true, map[string]hostAuth{"ghcr.io": {Username: "user", Password: testPassword}})
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Fatalf("config.json is no longer a symlink (%v)", err)
			}
			got := readFile(t, target)
			if !strings.Contains(got, `"ghcr.io"`) || (tc.content != "" && !strings.Contains(got, `"quay.io"`)) {
				t.Errorf("target not updated:\n%s", got)
			}
			want := fs.FileMode(0o640)
			if tc.content == "" {
				want = 0o600
			}
			checkMode(t, target, want)
			// The lock is beside the target too, where the write is.
			checkNoTempFiles(t, real)
			if _, err := os.Lstat(path + ".lock"); err == nil {
				t.Error("a lock file beside the link")
			}
		})
	}
}

func TestReadOnlyFolder(t *testing.T) {
	dir, _ := storeWorld(t)
	content := `{"auths":{"quay.io":{}}}`
	writeConfig(t, dir, content)
	// Open first, so that the lock file exists and the failure is the write.
	s, err := openDockerStore(dir, testLockWait)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	makeReadOnly(t, dir)
	if _, err := s.store(context.Background(), "ghcr.io", hostAuth{Username: "user", Password: testPassword}, true); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, configFileName)
	err = s.save()
	checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, fmt.Sprint(err))
	if err == nil || !strings.HasPrefix(err.Error(), "writing "+path+": ") {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
	if got := readFile(t, path); got != content {
		t.Errorf("config.json changed to %s", got)
	}
	checkNoTempFiles(t, dir)
}

// makeReadOnly stops anyone, root included, from creating files in dir,
// until the test ends.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	// Permissions do not stop root; the immutable attribute does.
	chattr, err := exec.LookPath("/usr/bin/chattr")
	if err != nil {
		t.Skip("running as root without chattr")
	}
	if out, err := exec.Command(chattr, "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("chattr +i: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command(chattr, "-i", dir).Run() })
}

func TestRenameFallback(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		inPlace  bool
		wantFail bool
	}{
		{"busy: bind-mounted file", syscall.EBUSY, true, false},
		{"cross-device", syscall.EXDEV, true, false},
		{"other error", syscall.EACCES, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := storeWorld(t)
			content := `{"auths":{"quay.io":{}}}`
			writeConfig(t, dir, content)
			path := filepath.Join(dir, configFileName)
			before, _ := os.Stat(path)
			s, err := openDockerStore(dir, testLockWait)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			s.rename = func(oldpath, newpath string) error {
				return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: tc.err}
			}
			if _, err := s.store(context.Background(), "ghcr.io", hostAuth{Username: "user", Password: testPassword}, true); err != nil {
				t.Fatal(err)
			}
			err = s.save()
			checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, fmt.Sprint(err))
			if (err != nil) != tc.wantFail {
				t.Fatalf("save: %v", err)
			}
			got := readFile(t, path)
			if tc.inPlace {
				after, _ := os.Stat(path)
				if !strings.Contains(got, `"ghcr.io"`) || !os.SameFile(before, after) {
					t.Errorf("not written in place:\n%s", got)
				}
			} else if got != content {
				t.Errorf("config.json changed to %s", got)
			}
			checkNoTempFiles(t, dir)
		})
	}
}

func TestConcurrentStores(t *testing.T) {
	dir, _ := storeWorld(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := openDockerStore(dir, testLockWait)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.close()
			host := fmt.Sprintf("reg%02d.example.com", i)
			if _, err := s.store(context.Background(), host, hostAuth{RegistryToken: testToken}, false); err != nil {
				errs[i] = err
				return
			}
			// Widen the read-modify-write window: without the lock, the
			// others read the file meanwhile and one write loses theirs.
			time.Sleep(5 * time.Millisecond)
			errs[i] = s.save()
		})
	}
	wg.Wait()
	err := errors.Join(errs...)
	checkNoSecrets(t, []string{testToken}, filepath.Dir(dir), nil, fmt.Sprint(err))
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseDockerConfig([]byte(readFile(t, filepath.Join(dir, configFileName))))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, ok := c.auths[fmt.Sprintf("reg%02d.example.com", i)]; !ok {
			t.Errorf("entry %d lost", i)
		}
	}
}
