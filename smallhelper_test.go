package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// smallHelperTag is the build tag of the small docker-credential-flux-mirror.
const smallHelperTag = "smallhelper"

// smallBuild is the small helper built once per test run, in a folder of
// its own beside a flux-mirror link to this test binary: the layout of a
// release archive, where the small helper finds the full binary beside it.
var smallBuild struct {
	once      sync.Once
	dir, path string
	err       error
	output    []byte
}

// smallHelper builds the small helper (once) and returns its path.
func smallHelper(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not building the small helper")
	}
	smallBuild.once.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			smallBuild.err = err
			return
		}
		if smallBuild.dir, smallBuild.err = os.MkdirTemp("", "flux-mirror-small-"); smallBuild.err != nil {
			return
		}
		smallBuild.path = filepath.Join(smallBuild.dir, helperProgram)
		cmd := exec.Command("go", "build", "-tags", smallHelperTag, "-o", smallBuild.path, ".")
		smallBuild.output, smallBuild.err = cmd.CombinedOutput()
		if smallBuild.err == nil {
			smallBuild.err = os.Symlink(exe, filepath.Join(smallBuild.dir, fullProgram))
		}
	})
	if smallBuild.err != nil {
		t.Fatalf("building the small helper: %v\n%s", smallBuild.err, smallBuild.output)
	}
	return smallBuild.path
}

// helperBinaries are the two helpers every helper test runs against: this
// test binary under the helper's name (the full flux-mirror) and the
// small helper.
func helperBinaries(t *testing.T) map[string]string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"full": exe, "small": smallHelper(t)}
}

// TestSmallHelperLinksNoSDK: the small helper's package graph holds none
// of the modules it exists to leave out. A new import that pulls one in
// fails here, naming it.
func TestSmallHelperLinksNoSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not running go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-tags", smallHelperTag, "-f", "{{if .Module}}{{.Module.Path}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/fluxcd/", "k8s.io/", "sigs.k8s.io/", "google.golang.org/grpc", "google.golang.org/api",
		"github.com/aws/", "github.com/Azure/", "github.com/AzureAD/", "cloud.google.com/",
		"golang.org/x/oauth2", "github.com/prometheus/", "github.com/google/go-containerregistry",
		"github.com/docker/",
	}
	modules := strings.Fields(string(out))
	if len(modules) == 0 {
		t.Fatal("go list printed no module")
	}
	for _, m := range modules {
		for _, f := range forbidden {
			if strings.HasPrefix(m, f) {
				t.Errorf("the small helper links %s", m)
			}
		}
	}
}

// TestScriptsSmallHelper runs every helper script with the small helper
// linked as docker-credential-flux-mirror: protocol, not-found text,
// caching, the docker CLI and go-containerregistry's keychain reading
// through it all hold for it as for the full binary.
func TestScriptsSmallHelper(t *testing.T) {
	small := smallHelper(t)
	files, err := filepath.Glob(filepath.Join("testdata", "script", "helper-*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no helper scripts: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Files:               files,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			if err := setupScript(env); err != nil {
				return err
			}
			env.Setenv("HELPERBIN", small)
			return nil
		},
		Cmds: scriptCmds(),
	})
}

// TestSmallHelperHandOff: a miss on a minting host is handed to the full
// binary, which mints and caches; the next get is answered by the small
// helper from the cache without running the full binary; a full binary
// that cannot be found is one line naming where it was looked for.
func TestSmallHelperHandOff(t *testing.T) {
	small := smallHelper(t) // before the world's PATH hides go
	w := newHelperWorld(t)
	w.writeConfig(t, actionsConfig)
	token := expiringJWT(t, time.Now().Add(time.Hour))
	mints := startActionsFake(t, token, 0)
	handoffs := filepath.Join(w.dir, "handoffs.log")
	t.Setenv(handOffLogEnv, handoffs)

	get := func() (int, string, string) {
		t.Helper()
		cmd := exec.Command(small, "get")
		cmd.Stdin = strings.NewReader("reg.example.com\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), stderr.String()
	}
	ranFull := func() int {
		data, _ := os.ReadFile(handoffs)
		return strings.Count(string(data), "\n")
	}
	for i, want := range []struct{ mints, full int }{{1, 1}, {1, 1}, {1, 1}} {
		code, stdout, stderr := get()
		if code != 0 || !strings.Contains(stdout, token) {
			checkNoSecrets(t, []string{token}, "", nil, stderr)
			t.Fatalf("get #%d: exit %d, stderr %q; want the token", i+1, code, stderr)
		}
		if mints.Load() != int32(want.mints) || ranFull() != want.full {
			t.Fatalf("after get #%d: %d mints, full binary ran %d times; want %d and %d", i+1, mints.Load(), ranFull(), want.mints, want.full)
		}
	}

	// Without a full binary beside it or on PATH, a miss says so.
	lonely := filepath.Join(w.dir, "lonely", helperProgram)
	if err := os.MkdirAll(filepath.Dir(lonely), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(small)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, lonely, data, 0o755)
	t.Setenv("FLUX_MIRROR_NO_CACHE", "1")
	cmd := exec.Command(lonely, "get")
	cmd.Stdin = strings.NewReader("reg.example.com\n")
	out, err := cmd.Output()
	if err == nil || !strings.Contains(string(out), "needs the full flux-mirror binary: found none beside") || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("get with no full binary: %v, stdout %q; want one line saying so", err, out)
	}

	// A copy of the small helper installed as flux-mirror is not handed
	// the get again and again.
	if err := os.Symlink(lonely, filepath.Join(filepath.Dir(lonely), fullProgram)); err != nil {
		t.Fatal(err)
	}
	copyOf := filepath.Join(w.dir, "lonely", "docker-credential-copy")
	mustWrite(t, copyOf, data, 0o755)
	if err := os.Remove(filepath.Join(filepath.Dir(lonely), fullProgram)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(copyOf, filepath.Join(filepath.Dir(lonely), fullProgram)); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(lonely, "get")
	cmd.Stdin = strings.NewReader("reg.example.com\n")
	out, err = cmd.Output()
	if err == nil || !strings.Contains(string(out), "this binary is one too") {
		t.Fatalf("get handed to a small helper: %v, stdout %q; want it refused", err, out)
	}
}
