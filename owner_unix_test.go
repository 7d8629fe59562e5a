//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRewriteKeepsOwner shows that root rewriting a user's config.json
// leaves it owned by that user, as docker does.
func TestRewriteKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file another owner")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, configFileName)
	if err := os.WriteFile(path, []byte(`{"auths":{}}`), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 4321, 8765); err != nil {
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
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 4321 || st.Gid != 8765 || fi.Mode().Perm() != 0o640 {
		t.Errorf("rewritten config.json: uid %d gid %d mode %v, want 4321 8765 -rw-r-----", st.Uid, st.Gid, fi.Mode().Perm())
	}
	checkNoSecrets(t, []string{"owner-s3cr3t"}, dir, nil)
}
