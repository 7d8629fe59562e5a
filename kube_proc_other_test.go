//go:build !linux

package main

import "os/exec"

// dieWithTestBinary does nothing where there is no parent-death signal;
// the tests stop the servers themselves.
func dieWithTestBinary(cmd *exec.Cmd) {}
