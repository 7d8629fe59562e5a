//go:build unix

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives the new config.json the owner of the file it replaces,
// as docker's configfile.Save does (copyFilePermissions): a login run with
// sudo must not leave a user's config.json owned by root. Like docker, it
// only copies a non-root owner and ignores a failed chown, which an
// unprivileged user's login cannot do and does not need.
func keepOwner(f *os.File, existing fs.FileInfo) {
	st, ok := existing.Sys().(*syscall.Stat_t)
	if ok && st.Uid > 0 && st.Gid > 0 {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}
