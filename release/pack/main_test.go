package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// badVersions are versions a release must refuse: each would put a path
// or a quote where the version goes, or is not semver's.
var badVersions = []string{
	"1.0/../../x", `1.0.0"`, "1.0.0\nx", "../1.0.0", "1.0", "01.0.0", "1.0.0-01",
	"1.0.0-", "1.0.0+build", "1.0.0-é", "v1.0.0", "", " 1.0.0",
}

func TestReleaseVersion(t *testing.T) {
	for _, v := range []string{"1.0.0", "0.0.0-e2e", "10.20.30", "1.0.0-rc.1", "1.0.0-0a.x-y.7", "1.0.0-alpha-1"} {
		if !releaseVersion.MatchString(v) {
			t.Errorf("%q refused, want accepted", v)
		}
	}
	for _, v := range badVersions {
		if releaseVersion.MatchString(v) {
			t.Errorf("%q accepted, want refused", v)
		}
	}
}

// TestPackRefusesVersion shows that pack writes nothing, anywhere, for a
// version that is not MAJOR.MINOR.PATCH[-PRERELEASE], nor for a base URL
// that mirror.yaml cannot hold.
func TestPackRefusesVersion(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for _, p := range platforms {
		if err := os.MkdirAll(filepath.Join(bin, p.os+"-"+p.arch), 0o755); err != nil {
			t.Fatal(err)
		}
		// Each archive holds flux-mirror and the small helper.
		for _, exe := range []string{"flux-mirror", "docker-credential-flux-mirror"} {
			if p.os == "windows" {
				exe += ".exe"
			}
			if err := os.WriteFile(filepath.Join(bin, p.os+"-"+p.arch, exe), []byte("binary"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := filepath.Join(dir, "a", "b", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	const good = "https://example.com/releases/"
	for _, v := range badVersions {
		if err := pack(v, bin, out, good, nil, time.Unix(0, 0)); err == nil {
			t.Errorf("pack(%q): no error", v)
		}
	}
	for _, u := range []string{"https://example.com/releases", `https://example.com/"x/`, "https://example.com/a#b/", "https://example.com/a b/", "ftp://example.com/", "/releases/"} {
		if err := pack("1.0.0", bin, out, u, nil, time.Unix(0, 0)); err == nil {
			t.Errorf("pack with -baseurl %q: no error", u)
		}
	}
	var wrote []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Dir(filepath.Dir(p)) != bin {
			wrote = append(wrote, p)
		}
		return err
	})
	if len(wrote) != 0 {
		t.Errorf("pack wrote %v", wrote)
	}
	if err := pack("1.0.0-rc.1", bin, out, good, nil, time.Unix(0, 0)); err != nil {
		t.Fatalf("a good version: %v", err)
	}
}

// TestBuildRefusesVersion shows that release/build refuses such a version
// with a usage error before it builds or creates anything.
func TestBuildRefusesVersion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("release/build needs bash")
	}
	for _, v := range append(badVersions[:len(badVersions)-3], "vv1.0.0") {
		out := filepath.Join(t.TempDir(), "out")
		cmd := exec.Command("bash", "../build", v, out, "https://example.com/releases/")
		stderr, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("release/build %q: %v, want exit status 2\n%s", v, err, stderr)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("release/build %q created %s", v, out)
		}
	}
}
