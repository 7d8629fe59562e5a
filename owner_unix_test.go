//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRewriteKeepsOwner shows that root rewriting a user's config.json
// leaves it, and its lock, owned by that user, as docker does; also when
// the user's group is root, as for OpenShift's arbitrary-UID pods (uid:0),
// where docker would leave both root-owned.
func TestRewriteKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file another owner")
	}
	for _, owner := range []struct{ uid, gid uint32 }{{4321, 8765}, {4321, 0}, {0, 8765}} {
		t.Run(fmt.Sprintf("%d:%d", owner.uid, owner.gid), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Chown(dir, int(owner.uid), int(owner.gid)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, configFileName)
			if err := os.WriteFile(path, []byte(`{"auths":{}}`), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, int(owner.uid), int(owner.gid)); err != nil {
				t.Fatal(err)
			}
			s, err := openDockerStore(dir, testLockWait)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			if _, err := s.store(context.Background(), "registry.example.com", hostAuth{RegistryToken: "owner-s3cr3t"}, true); err != nil {
				t.Fatal(err)
			}
			if err := s.save(); err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				path string
				mode os.FileMode
			}{{path, 0o640}, {path + ".lock", 0o600}} {
				fi, err := os.Stat(f.path)
				if err != nil {
					t.Fatal(err)
				}
				st := fi.Sys().(*syscall.Stat_t)
				if st.Uid != owner.uid || st.Gid != owner.gid || fi.Mode().Perm() != f.mode {
					t.Errorf("%s: uid %d gid %d mode %v, want %d %d %v", filepath.Base(f.path), st.Uid, st.Gid, fi.Mode().Perm(), owner.uid, owner.gid, f.mode)
				}
			}
			checkNoSecrets(t, []string{"owner-s3cr3t"}, dir, nil)
		})
	}
}
