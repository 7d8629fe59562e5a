// Command image writes the flux-mirror container image for the
// Kubernetes CronJobs (examples/kubernetes) as an OCI image layout: one
// image index holding a linux/amd64 and a linux/arm64 image, each one
// layer with the static binary as entrypoint, a CA bundle for the cloud
// APIs, and a non-root user (65532, distroless's "nonroot"). No
// container engine runs: go-containerregistry builds the image from
// files. Every byte depends only on the inputs and -mtime (fixed entry
// order, times, owners and modes), so two builds of one version have one
// digest. release/build-image drives it.
//
//	image -version 1.2.3 -bin DIR -ca-bundle FILE -mtime UNIX -out LAYOUT
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user: distroless's nonroot, which the examples' Pod
// securityContext names too.
const (
	uid        = 65532
	entrypoint = "/usr/local/bin/flux-mirror"
	caPath     = "/etc/ssl/certs/ca-certificates.crt"
)

var archs = []string{"amd64", "arm64"}

func main() {
	version := flag.String("version", "", "version without the v")
	bin := flag.String("bin", "", "folder holding linux-ARCH/flux-mirror")
	caBundle := flag.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle copied into the image")
	mtime := flag.Int64("mtime", 0, "creation and file time, Unix seconds")
	out := flag.String("out", "", "OCI image layout folder to write (must not exist)")
	flag.Parse()
	if *version == "" || *bin == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: image -version V -bin DIR [-ca-bundle FILE] [-mtime UNIX] -out LAYOUT")
		os.Exit(2)
	}
	if err := build(*version, *bin, *caBundle, *out, time.Unix(*mtime, 0).UTC()); err != nil {
		fmt.Fprintf(os.Stderr, "✗ image: %s\n", err)
		os.Exit(1)
	}
}

func build(version, bin, caBundle, out string, mtime time.Time) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists", out)
	}
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return fmt.Errorf("ca bundle: %w", err)
	}
	index := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range archs {
		binary, err := os.ReadFile(filepath.Join(bin, "linux-"+arch, "flux-mirror"))
		if err != nil {
			return err
		}
		img, err := platformImage(version, arch, binary, ca, mtime)
		if err != nil {
			return fmt.Errorf("linux/%s: %w", arch, err)
		}
		index = mutate.AppendManifests(index, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	if _, err := layout.Write(out, index); err != nil {
		return err
	}
	digest, err := index.Digest()
	if err != nil {
		return err
	}
	fmt.Println(digest)
	return nil
}

// platformImage is one platform's image: the layer and a config that
// runs the binary as the non-root user.
func platformImage(version, arch string, binary, ca []byte, mtime time.Time) (v1.Image, error) {
	data, err := rootfs(binary, ca, mtime)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: mtime}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: created, CreatedBy: "release/image: flux-mirror " + version, Comment: "flux-mirror, CA bundle, nonroot user",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, created
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", uid, uid),
		Entrypoint: []string{entrypoint},
		WorkingDir: "/home/nonroot",
		Env: []string{
			"PATH=/usr/local/bin",
			"HOME=/home/nonroot",
			"SSL_CERT_FILE=" + caPath,
		},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "flux-mirror",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.source":   "https://github.com/flux-mirror/flux-mirror",
			"org.opencontainers.image.licenses": "Apache-2.0",
		},
	}
	return mutate.ConfigFile(img, cf)
}

// rootfs is the layer's tar: the folders, /etc/passwd and /etc/group
// naming the nonroot user, the CA bundle and the binary, in this fixed
// order with fixed owners, modes and times.
func rootfs(binary, ca []byte, mtime time.Time) ([]byte, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, uid)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", uid)
	entries := []struct {
		name     string
		mode     int64
		owner    int
		dir      bool
		contents []byte
	}{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, contents: []byte(group)},
		{name: "etc/passwd", mode: 0o644, contents: []byte(passwd)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, contents: ca},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, owner: uid, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/local/", mode: 0o755, dir: true},
		{name: "usr/local/bin/", mode: 0o755, dir: true},
		{name: "usr/local/bin/flux-mirror", mode: 0o755, contents: binary},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.owner, Gid: e.owner, ModTime: mtime, Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.contents))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.contents); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
