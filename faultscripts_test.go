//go:build unix

package main

// Fault tests (see faults_test.go) written as scripts, for faults that
// take root's tools: an immutable folder, a bind-mounted config.json.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestFaultScripts runs testdata/faults/script/*.txt: the file system
// refusing a write, which takes root's tools (chattr, unshare) and so its
// own conditions and commands, beyond the login scripts'.
func TestFaultScripts(t *testing.T) {
	cmds := scriptCmds()
	cmds["chattr"] = cmdChattr
	immutable := sync.OnceValue(chattrWorks)
	mountNamespace := sync.OnceValue(func() bool {
		return exec.Command("unshare", "-m", "true").Run() == nil
	})
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "faults", "script"),
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds:                cmds,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "immutable":
				// chattr +i stops root from changing a file or folder.
				return immutable(), nil
			case "mountns":
				// unshare -m: a mount namespace of the script's own for a
				// bind mount, which takes root.
				return mountNamespace(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// chattrWorks reports whether chattr +i can make a folder immutable here:
// it takes root (CAP_LINUX_IMMUTABLE) and a file system that keeps the
// attribute (ext4, xfs, btrfs).
func chattrWorks() bool {
	dir, err := os.MkdirTemp("", "flux-mirror-chattr")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	if exec.Command("chattr", "+i", dir).Run() != nil {
		return false
	}
	defer exec.Command("chattr", "-i", dir).Run()
	return os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600) != nil
}

// cmdChattr sets (+i) or clears (-i) the immutable attribute of PATH. One
// set is always cleared when the script ends, pass or fail, so that its
// $WORK can be removed.
//
//	chattr +i|-i PATH
func cmdChattr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || args[0] != "+i" && args[0] != "-i" {
		ts.Fatalf("usage: chattr +i|-i PATH")
	}
	path := ts.MkAbs(args[1])
	if out, err := exec.Command("chattr", args[0], path).CombinedOutput(); err != nil {
		ts.Fatalf("chattr %s %s: %v: %s", args[0], args[1], err, out)
	}
	if args[0] == "+i" {
		ts.Defer(func() { exec.Command("chattr", "-i", path).Run() })
	}
}
