//go:build unix

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives the new file (config.json, its lock) the owner of the
// file it replaces, as docker's configfile.Save does (copyFilePermissions):
// a login run with sudo must not leave a user's config.json owned by root.
// Unlike docker, which copies only an owner whose uid and gid are both
// non-root, it copies uid and gid as they are whenever they are not the
// effective user's: OpenShift's arbitrary-UID pods own their files as
// uid:0, and a root login that left such a config.json root-owned 0600
// would lock the user out of it. A failed chown is ignored: an
// unprivileged user's login cannot do it and does not need it.
func keepOwner(f *os.File, existing fs.FileInfo) {
	st, ok := existing.Sys().(*syscall.Stat_t)
	if ok && (int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid()) {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}
