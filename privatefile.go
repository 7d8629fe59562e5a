package main

// Files flux-mirror keeps for itself: the helper's token cache entries,
// their locks and the helper registration file. Each lives in a folder
// held open while we use it, so every file in it is reached through the
// folder we checked and never through a path another user could swap for
// a link after the check (STYLE.md habit 11). Another user who can write
// to such a folder, or who made the file, decides what we read: a token
// we would hand to docker, a config we would mint from. So a folder or a
// file that is not ours alone is not used at all.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
)

// maxPrivateFileBytes bounds what we read of a file of our own: a cache
// entry or the registration file is a few kilobytes.
const maxPrivateFileBytes = 1 << 20

// notPrivateError is a folder or file that fails the rule: it names the
// path and what is wrong, never its content.
type notPrivateError struct {
	path, why string
}

func (e *notPrivateError) Error() string {
	return fmt.Sprintf("%s %s: not using it", e.path, e.why)
}

// privateDir is an open folder of our own.
type privateDir struct {
	path string
	f    *os.File
}

// openPrivateDir opens the folder at path, creating it 0700 (and its
// parents) when create is set and it is missing. It refuses a folder that
// is a link, is owned by another user, or that group or others may write
// to; one that is only readable by them (a ~/.config/flux-mirror the user
// made 0755 for their config) is ours to tighten, since nobody else could
// have put anything in it.
func openPrivateDir(path string, create bool) (*privateDir, error) {
	if create {
		if err := mkdirPrivate(path); err != nil {
			return nil, err
		}
	}
	f, err := openDirNoFollow(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkPrivateDir(path, f, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &privateDir{path: path, f: f}, nil
}

// close releases the folder.
func (d *privateDir) close() { d.f.Close() }

// join is name's path, for messages.
func (d *privateDir) join(name string) string { return d.path + string(os.PathSeparator) + name }

// readFile reads name, a file of our own. A missing file is fs.ErrNotExist;
// one that is a link, not a regular file, not ours or readable by others
// is a notPrivateError: whoever planted it chose its content.
func (d *privateDir) readFile(name string) ([]byte, error) {
	f, err := d.openFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxPrivateFileBytes))
}

// openFile opens name in d without following a link at name, and keeps it
// only when it passes checkPrivateFile.
func (d *privateDir) openFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := openAtNoFollow(d, name, flag, perm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkPrivateFile(d.join(name), fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// writeFile replaces name with data: a new 0600 file made beside it
// (created exclusively, so never a file or link that was already there),
// synced, then renamed over name. The file is never chown'ed: it belongs
// to whoever runs us, root included.
func (d *privateDir) writeFile(name string, data []byte) error {
	tmp := name + tempSuffix + rand.Text()[:12]
	f, err := openAtNoFollow(d, tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = writeAndSync(f, data, 0o600)
	if err == nil {
		err = renameAt(d, tmp, name)
	}
	if err != nil {
		removeAt(d, tmp)
	}
	return err
}

// remove removes name; a missing one is not an error.
func (d *privateDir) remove(name string) error {
	if err := removeAt(d, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// names lists the names in d that start with prefix.
func (d *privateDir) names(prefix string) ([]string, error) {
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	all, err := d.f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range all {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names, nil
}

// lock takes the lock file name in d, created 0600, waiting at most wait.
// A lock file that is not ours is refused like any other planted file:
// locking it would let its owner hold us off, and opening it for writing
// through a link would create or truncate a file elsewhere.
func (d *privateDir) lock(name string, wait time.Duration) (*os.File, error) {
	deadline := time.Now().Add(wait)
	for range 10 {
		f, err := d.openFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		if err := waitForLock(f, d.join(name), wait, deadline); err != nil {
			f.Close()
			return nil, err
		}
		// A lock file removed while we waited (erase drops an entry's lock
		// with it) is one nobody else locks: lock the one there now.
		if sameFileAt(d, name, f) {
			return f, nil
		}
		unlockFile(f)
	}
	return nil, fmt.Errorf("%s keeps being replaced while we wait for it", d.join(name))
}
