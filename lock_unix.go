//go:build unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// openNoBlock opens a config.json without waiting on a FIFO's writer, so
// that one is refused (configTarget's rule) instead of hanging the run.
const openNoBlock = syscall.O_NONBLOCK

// openLockFile opens the lock file at path, creating it 0600 with owner's
// owner. It never follows a symlink at path: a link planted there would
// make us create or chown a file elsewhere. A lock we may not write (made
// by another user, root say) is opened read-only, which is all flock(2)
// needs; one we may not even read (a root-owned 0600 lock an older release
// left) is replaced, so that a login run once as root never locks the
// folder's owner out.
func openLockFile(path string, owner fs.FileInfo) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.EACCES) {
		ro, rerr := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if errors.Is(rerr, syscall.EACCES) {
			if rerr = replaceLockFile(path); rerr != nil {
				return nil, fmt.Errorf("%w, and it cannot be replaced: %w", err, rerr)
			}
			ro, rerr = os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
		}
		if rerr == nil || !errors.Is(rerr, fs.ErrNotExist) {
			// Otherwise the lock is missing, and the first error (a
			// folder we may not create it in) says why.
			f, err = ro, rerr
		}
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: refusing to follow it", path)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if owner != nil {
		// Also hands back a lock an earlier root run left to the owner.
		keepOwner(f, owner)
	}
	return f, nil
}

// replaceLockFile puts a new, empty lock file in place of the one at path.
// A run still holding the old one is not excluded from ours; only a lock
// its owner cannot open is replaced, and the run that made it has long
// gone in the case this exists for.
func replaceLockFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// tryLock takes an exclusive flock on f if no other open file holds one.
// flock(2) locks are released by the kernel when the holder exits, so a
// crashed login never leaves the Docker config locked.
func tryLock(f *os.File) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch err {
		case nil:
			return true, nil
		case unix.EINTR:
			continue
		case unix.EWOULDBLOCK:
			return false, nil
		}
		return false, fmt.Errorf("flock: %w", err)
	}
}

// unlockFile releases the lock taken by tryLock and closes f.
func unlockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_UN)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
