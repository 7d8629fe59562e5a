//go:build !unix

package main

// Where files have no unix owner and mode (Windows), a folder of our own
// is the user's profile folder, private by its ACL; links are still
// refused, by an Lstat before each open.

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

func mkdirPrivate(path string) error { return os.MkdirAll(path, 0o700) }

func openDirNoFollow(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &notPrivateError{path, "is a link"}
	}
	return os.Open(path)
}

func checkPrivateDir(path string, _ *os.File, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return &notPrivateError{path, "is not a folder"}
	}
	return nil
}

func checkPrivateFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return &notPrivateError{path, "is not a regular file"}
	}
	return nil
}

func openAtNoFollow(d *privateDir, name string, flag int, perm fs.FileMode) (*os.File, error) {
	path := filepath.Join(d.path, name)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &notPrivateError{path, "is a symbolic link"}
	}
	return os.OpenFile(path, flag, perm)
}

func renameAt(d *privateDir, oldname, newname string) error {
	return os.Rename(filepath.Join(d.path, oldname), filepath.Join(d.path, newname))
}

func removeAt(d *privateDir, name string) error { return os.Remove(filepath.Join(d.path, name)) }

func sameFileAt(d *privateDir, name string, f *os.File) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(filepath.Join(d.path, name))
	return err == nil && os.SameFile(held, now)
}

func fileStamp(fi fs.FileInfo) string {
	return fmt.Sprintf("%d:%d", fi.Size(), fi.ModTime().UnixNano())
}
