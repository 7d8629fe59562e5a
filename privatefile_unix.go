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

// mkdirPrivate creates path 0700 if it is missing, and its parents.
func mkdirPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// openDirNoFollow opens the folder at path, refusing a link there: a link
// would put our files wherever its maker wants them.
func openDirNoFollow(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, &notPrivateError{path, "is a link or not a folder"}
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// checkPrivateDir checks the open folder f at path: ours, and writable by
// nobody else. A folder readable by others but writable only by us gets
// 0700: nothing in it can have been planted, and a token's name must not
// be listable.
func checkPrivateDir(path string, f *os.File, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() {
		return &notPrivateError{path, "is not a folder"}
	}
	// A folder another user owns is theirs to fill: root's chmod would
	// succeed on it and change nothing about what they put there.
	if int(st.Uid) != os.Geteuid() {
		return &notPrivateError{path, fmt.Sprintf("is owned by uid %d, not by us (uid %d)", st.Uid, os.Geteuid())}
	}
	// Group or other write access lets them plant a cache entry or a
	// registration, or swap ours for a link, between two of our runs.
	if fi.Mode().Perm()&0o022 != 0 {
		return &notPrivateError{path, fmt.Sprintf("may be written by group or others (mode %04o)", fi.Mode().Perm())}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return f.Chmod(0o700)
	}
	return nil
}

// checkPrivateFile checks a file we opened without following links: a
// regular file, ours, with no group or other bits and no second name.
func checkPrivateFile(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return &notPrivateError{path, "is not a regular file"}
	}
	// A file another user made (in a folder that was once open to them)
	// holds what they want us to serve or mint from.
	if int(st.Uid) != os.Geteuid() {
		return &notPrivateError{path, fmt.Sprintf("is owned by uid %d, not by us (uid %d)", st.Uid, os.Geteuid())}
	}
	// Group or other bits mean someone made it readable to others, or it
	// is not a file we wrote: ours are 0600 from the start.
	if fi.Mode().Perm()&0o077 != 0 {
		return &notPrivateError{path, fmt.Sprintf("is readable or writable by group or others (mode %04o)", fi.Mode().Perm())}
	}
	// A second name is a hard link planted to one of our own files.
	if st.Nlink != 1 {
		return &notPrivateError{path, "has more than one name (a hard link)"}
	}
	return nil
}

// openAtNoFollow opens name in d, never following a link at name.
func openAtNoFollow(d *privateDir, name string, flag int, perm fs.FileMode) (*os.File, error) {
	fd, err := unix.Openat(int(d.f.Fd()), name, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, uint32(perm))
	if errors.Is(err, unix.ELOOP) {
		return nil, &notPrivateError{d.join(name), "is a symbolic link"}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: d.join(name), Err: err}
	}
	return os.NewFile(uintptr(fd), d.join(name)), nil
}

// renameAt renames oldname to newname, both in d.
func renameAt(d *privateDir, oldname, newname string) error {
	fd := int(d.f.Fd())
	if err := unix.Renameat(fd, oldname, fd, newname); err != nil {
		return &os.LinkError{Op: "rename", Old: d.join(oldname), New: d.join(newname), Err: err}
	}
	return nil
}

// removeAt removes name from d; a link is removed, not followed.
func removeAt(d *privateDir, name string) error {
	if err := unix.Unlinkat(int(d.f.Fd()), name, 0); err != nil {
		return &os.PathError{Op: "remove", Path: d.join(name), Err: err}
	}
	return nil
}

// sameFileAt reports whether f is still the file named name in d.
func sameFileAt(d *privateDir, name string, f *os.File) bool {
	var now unix.Stat_t
	if err := unix.Fstatat(int(d.f.Fd()), name, &now, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false
	}
	held, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := held.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == uint64(now.Dev) && st.Ino == now.Ino
}

// fileStamp is what says a credential file changed: its size, mtime, and
// device and inode (a file replaced by a rename has a new inode even when
// size and mtime match).
func fileStamp(fi fs.FileInfo) string {
	s := fmt.Sprintf("%d:%d", fi.Size(), fi.ModTime().UnixNano())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s += fmt.Sprintf(":%d:%d", st.Dev, st.Ino)
	}
	return s
}
