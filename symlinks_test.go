package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestResolveSymlinksDangling checks that a chain of links ending at a
// missing file is followed as the kernel follows it: a relative link
// counts from the real folder it sits in, even when it was reached through
// a symlinked folder, and ".." after a symlink climbs from the symlink's
// target.
func TestResolveSymlinksDangling(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"docker/a/b", "store/keys/sub", "x"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"docker/a/b/shallow":      "../../../store/keys", // a symlinked folder
		"store/keys/dangling":     "../../x/config.json", // from store/keys: base/x/config.json
		"docker/a/b/up":           "../../../store/keys/sub",
		"store/keys/sub/twice":    "../dangling",       // from store/keys/sub: store/keys/dangling
		"docker/a/b/viasym":       "shallow/../y.json", // shallow/.. is store, not docker/a/b
		"docker/a/b/nofolder":     "../../../missing/config.json",
		"docker/a/b/plain.json":   "config.json",
		"docker/a/b/local-target": "./shallow/sub/../dangling",
	} {
		if err := os.Symlink(target, filepath.Join(base, link)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ path, want string }{
		{"docker/a/b/shallow/dangling", "x/config.json"},
		{"docker/a/b/up/twice", "x/config.json"},
		{"docker/a/b/viasym", "store/y.json"},
		{"docker/a/b/local-target", "x/config.json"},
		{"docker/a/b/nofolder", "missing/config.json"},
		{"docker/a/b/plain.json", "docker/a/b/config.json"},
		{"docker/a/b/missing.json", "docker/a/b/missing.json"},
	}
	for _, tt := range tests {
		got, err := resolveSymlinks(filepath.Join(base, tt.path))
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if want := filepath.Join(base, tt.want); got != want {
			t.Errorf("%s resolves to %s, want %s", tt.path, got, want)
		}
		// The kernel agrees: creating the file through the links makes
		// the file resolveSymlinks named.
		if tt.path == "docker/a/b/nofolder" {
			continue
		}
		if err := os.WriteFile(filepath.Join(base, tt.path), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(base, tt.want)); err != nil {
			t.Errorf("%s: the kernel created another file: %v", tt.path, err)
		}
	}
}
