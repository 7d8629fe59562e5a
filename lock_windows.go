//go:build windows

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// openNoBlock is nothing on Windows, where no config.json open waits.
const openNoBlock = 0

// openLockFile opens the lock file at path, creating it if needed, and
// refuses a symlink there. owner is for unix file ownership only.
func openLockFile(path string, _ fs.FileInfo) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link: refusing to follow it", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// tryLock locks the byte at offset 0 of f if no other handle holds it: the
// lock file holds no data, so any range works as long as every process
// locks the same one. LockFileEx locks are released by the system when the
// holder exits.
func tryLock(f *os.File) (bool, error) {
	ol := new(windows.Overlapped)
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("LockFileEx: %w", err)
	}
	return true, nil
}

// unlockFile releases the lock taken by tryLock and closes f.
func unlockFile(f *os.File) error {
	ol := new(windows.Overlapped)
	err := windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
