package main

// The Docker config lock: config.json.lock beside config.json's resolved
// target, so that two Docker config folders whose config.json link to one
// file share one lock, and the wait for it bounded by --timeout.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// A lock held by another run is polled for, from lockPollMin up to
// lockPollMax between tries: a blocking lock call cannot be given a
// deadline.
const (
	lockPollMin = 5 * time.Millisecond
	lockPollMax = 100 * time.Millisecond
)

// lockConfig takes the lock of the config.json whose resolved target is
// target, waiting at most wait for another run to release it. owner is the
// target as it is, nil when it does not exist yet: a new lock file gets its
// owner, as the config file itself does (keepOwner).
func lockConfig(target string, owner fs.FileInfo, wait time.Duration) (*os.File, error) {
	path := target + ".lock"
	deadline := time.Now().Add(wait)
	for range 10 {
		f, err := openLockFile(path, owner)
		if err != nil {
			return nil, err
		}
		if err := waitForLock(f, path, wait, deadline); err != nil {
			f.Close()
			return nil, err
		}
		// A lock file replaced while we waited (openLockFile replaces one
		// it cannot open) is one nobody else locks: lock the new one.
		if lockStillAt(f, path) {
			return f, nil
		}
		unlockFile(f)
	}
	return nil, fmt.Errorf("%s keeps being replaced while we wait for it", path)
}

// waitForLock polls for the lock on f until deadline.
func waitForLock(f *os.File, path string, wait time.Duration, deadline time.Time) error {
	pause := lockPollMin
	for {
		locked, err := tryLock(f)
		if err != nil {
			return fmt.Errorf("locking %s: %w", path, err)
		}
		if locked {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("timed out after %s waiting for the lock on %s (another login or logout holds it)", formatTimeout(wait), path)
		}
		time.Sleep(min(pause, left))
		pause = min(2*pause, lockPollMax)
	}
}

// lockStillAt reports whether f is still the file at path.
func lockStillAt(f *os.File, path string) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(path)
	return err == nil && os.SameFile(held, now)
}

// configTarget is the file config.json at path resolves to, and that file
// as it is, nil when it does not exist yet. Anything but a regular file (a
// device such as a bind-mounted /dev/null, a FIFO, a socket, a folder) is
// refused: reading it could block or consume it, and chmod-ing, writing or
// replacing it would damage something that is not a Docker config.
func configTarget(path string) (string, fs.FileInfo, error) {
	target, err := resolveSymlinks(path)
	if err != nil {
		return "", nil, err
	}
	fi, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return target, nil, nil
	case err != nil:
		return "", nil, err
	case !fi.Mode().IsRegular():
		return "", nil, errNotRegular(path, fi.Mode())
	}
	return target, fi, nil
}

// errNotRegular is the refusal of a config.json that is not a regular file.
func errNotRegular(path string, mode fs.FileMode) error {
	kind := "not a regular file"
	switch {
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode.IsDir():
		kind = "a folder"
	}
	return fmt.Errorf("%s is %s, not a regular file: refusing to read or write it", path, kind)
}

// otherFolder is how to name a Docker config folder one can write.
const otherFolder = "pass --docker-config DIR or set DOCKER_CONFIG to a folder you can write"

// unwritable returns the reason, without the path, when err is a file
// system's refusal to write (permissions, a read-only mount), else nil.
func unwritable(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
		return pe.Err
	}
	return nil
}
