// Command pack writes the release assets from binaries already built:
// one archive per platform, the sha256sum checksums file and the Flux
// plugin catalog manifest. release/build drives it. Every byte it writes
// depends only on its inputs and -mtime: entries in a fixed order, fixed
// times, owners and modes, no gzip name or time, so two builds of one
// version are identical wherever they run.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// platforms are the catalog's platforms, in the order the manifest lists
// them (fluxcd/plugins schemas/plugin-cli-v1beta1.json).
var platforms = []struct{ os, arch string }{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

const manifestHead = `apiVersion: cli.fluxcd.io/v1beta1
kind: Plugin
name: mirror
description: Log registry hosts from a flux-mirror config into the Docker config, the way docker login does.
homepage: https://github.com/flux-mirror/flux-mirror
source: https://github.com/flux-mirror/flux-mirror
bin: flux-mirror
versions:
  - version: "%s"
    platforms:
`

func main() {
	version := flag.String("version", "", "version without the v")
	bin := flag.String("bin", "", "folder holding OS-ARCH/flux-mirror[.exe] and OS-ARCH/docker-credential-flux-mirror[.exe]")
	out := flag.String("out", "", "folder to write the assets to")
	baseURL := flag.String("baseurl", "", "URL the archives are downloaded from, ending in /")
	files := flag.String("files", "LICENSE,README.md", "files added beside the binary")
	mtime := flag.Int64("mtime", 0, "modification time of every entry, Unix seconds")
	flag.Parse()
	if err := pack(*version, *bin, *out, *baseURL, strings.Split(*files, ","), time.Unix(*mtime, 0).UTC()); err != nil {
		fmt.Fprintf(os.Stderr, "✗ pack: %s\n", err)
		os.Exit(1)
	}
}

// entry is a file of an archive.
type entry struct {
	name string
	mode os.FileMode
	data []byte
}

// releaseVersion is a version this command releases: MAJOR.MINOR.PATCH
// with an optional prerelease, as semver.org's grammar writes it (numbers
// without leading zeros; identifiers of ASCII letters, digits and '-').
// The version names files in -out and is written into mirror.yaml, so
// nothing else gets in: "1.0/../../x" would write outside -out, and a '"'
// would end mirror.yaml's string. release/build checks the same rule.
var releaseVersion = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
	`(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?$`)

// checkBaseURL refuses a base URL that mirror.yaml cannot hold as a plain
// scalar, or that is not an absolute http(s) folder URL.
func checkBaseURL(baseURL string) error {
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		return fmt.Errorf("-baseurl: %w", err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", !strings.HasSuffix(baseURL, "/"):
		return fmt.Errorf("-baseurl %q must be an http(s) URL ending in /", baseURL)
	case strings.ContainsFunc(baseURL, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"'#\`+"`", r) }):
		return fmt.Errorf("-baseurl %q must not hold spaces, quotes, '#', '\\' or non-ASCII characters", baseURL)
	}
	return nil
}

func pack(version, bin, out, baseURL string, files []string, mtime time.Time) error {
	if bin == "" || out == "" {
		return fmt.Errorf("want -version 1.2.3 -bin DIR -out DIR -baseurl URL/")
	}
	if !releaseVersion.MatchString(version) {
		return fmt.Errorf("-version %q must be MAJOR.MINOR.PATCH[-PRERELEASE] (semver, without the v)", version)
	}
	if err := checkBaseURL(baseURL); err != nil {
		return err
	}
	var extra []entry
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		extra = append(extra, entry{filepath.Base(f), 0o644, data})
	}
	sums := map[string]string{}
	var manifest bytes.Buffer
	fmt.Fprintf(&manifest, manifestHead, version)
	for _, p := range platforms {
		exe := "flux-mirror"
		if p.os == "windows" {
			exe += ".exe"
		}
		var entries []entry
		for _, name := range []string{exe, "docker-credential-" + exe} {
			data, err := os.ReadFile(filepath.Join(bin, p.os+"-"+p.arch, name))
			if err != nil {
				return err
			}
			entries = append(entries, entry{name, 0o755, data})
		}
		entries = append(entries, extra...)
		name := fmt.Sprintf("flux-mirror_%s_%s_%s.tar.gz", version, p.os, p.arch)
		write := writeTarGz
		if p.os == "windows" {
			name = strings.TrimSuffix(name, ".tar.gz") + ".zip"
			write = writeZip
		}
		var archive bytes.Buffer
		if err := write(&archive, entries, mtime); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name), archive.Bytes(), 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(archive.Bytes())
		sums[name] = hex.EncodeToString(sum[:])
		fmt.Fprintf(&manifest, "      - os: %s\n        arch: %s\n        url: %s%s\n        checksum: sha256:%s\n",
			p.os, p.arch, baseURL, name, sums[name])
	}
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var checksums bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&checksums, "%s  %s\n", sums[n], n) // sha256sum's format
	}
	if err := os.WriteFile(filepath.Join(out, "flux-mirror_"+version+"_checksums.txt"), checksums.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "mirror.yaml"), manifest.Bytes(), 0o644)
}

func writeTarGz(w io.Writer, entries []entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression) // no name, zero time
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: int64(e.mode), Size: int64(len(e.data)), ModTime: mtime,
			Typeflag: tar.TypeReg, Format: tar.FormatUSTAR, Uname: "", Gname: ""}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(e.mode)
		f, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := f.Write(e.data); err != nil {
			return err
		}
	}
	return zw.Close()
}
