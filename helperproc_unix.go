//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// inOwnProcessGroup makes cmd a process group of its own and its
// cancellation (the deadline) kill that whole group: a helper killed alone
// would leave the children it started (gpg, a shell's sleep) running, and
// holding its stdout. A daemon that detached itself (gpg-agent calls
// setsid) is in a group of its own and lives on, as it should.
func inOwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
