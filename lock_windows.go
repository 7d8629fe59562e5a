//go:build windows

package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// lockFile opens (creating it if needed) and exclusively locks path,
// waiting for another process's lock to go. LockFileEx locks are released
// by the system when the holder exits.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	// Lock the byte at offset 0: the lock file holds no data, so any range
	// works as long as every process locks the same one.
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol); err != nil {
		f.Close()
		return nil, fmt.Errorf("LockFileEx %s: %w", path, err)
	}
	return f, nil
}

// unlockFile releases the lock taken by lockFile and closes f.
func unlockFile(f *os.File) error {
	ol := new(windows.Overlapped)
	err := windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
