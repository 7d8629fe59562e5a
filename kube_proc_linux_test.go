package main

import (
	"os/exec"
	"syscall"
)

// dieWithTestBinary has the kernel kill cmd when the test binary dies: a
// test binary killed by go test's timeout must not leave a server running.
func dieWithTestBinary(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
