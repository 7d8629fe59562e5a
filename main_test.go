package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// update rewrites golden files and the expectations in testscript files
// whose cmp fails: go test -update.
var update = flag.Bool("update", false, "update golden files")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"flux-mirror": main,
	})
}

// TestScripts runs testdata/script/*.txt: one behaviour per file, each
// with its own HOME, Docker config folder and environment.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds:                scriptCmds(),
	})
}

// setupScript gives a script a clean world: an empty HOME, a Docker config
// folder of its own, $WORK/bin (for fake helpers) first on a PATH of system
// folders only, and every cloud identity chain pointed away from the
// network so that nothing dials a cloud host or a metadata address.
func setupScript(env *testscript.Env) error {
	work := env.Getenv("WORK")
	home := filepath.Join(work, "home")
	bin := filepath.Join(work, "bin")
	for _, d := range []string{home, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	env.Setenv("HOME", home)
	env.Setenv("DOCKER_CONFIG", filepath.Join(work, "docker"))
	// testscript.Main put the folder holding the flux-mirror command first.
	commands, _, _ := strings.Cut(env.Getenv("PATH"), string(os.PathListSeparator))
	env.Setenv("PATH", strings.Join([]string{bin, commands, "/usr/bin", "/bin"}, string(os.PathListSeparator)))
	env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	env.Setenv("AWS_CONFIG_FILE", os.DevNull)
	env.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	env.Setenv("GCE_METADATA_HOST", "127.0.0.1:9")
	env.Setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token")
	env.Setenv("IDENTITY_HEADER", "unused")
	return nil
}

// scriptCmd is a command a script may use beyond testscript's own.
type scriptCmd = func(ts *testscript.TestScript, neg bool, args []string)

// scriptCmds gathers the commands defined by the test files of each concern.
func scriptCmds() map[string]scriptCmd {
	cmds := map[string]scriptCmd{}
	for _, set := range []map[string]scriptCmd{storeCmds, identityFakeCmds, cloudFakeCmds} {
		for name, cmd := range set {
			cmds[name] = cmd
		}
	}
	return cmds
}
