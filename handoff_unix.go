//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxExecRequest is the largest request execHandOff passes through a pipe
// it fills before the exec: a pipe holds at least 4 KiB without a reader.
const maxExecRequest = 4096

// execHandOff replaces the small helper's process with the full binary's
// get, the request waiting on its stdin in a pipe: no second process to
// fork and wait for, so the hand-off costs the full binary's start-up and
// little more. It returns only if the exec could not be done.
func execHandOff(full string, argv []string, env []string, request []byte) error {
	if len(request) > maxExecRequest {
		return errors.ErrUnsupported
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = w.Write(request)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Dup2(int(r.Fd()), 0)
	}
	if err != nil {
		return err
	}
	return syscall.Exec(full, argv, env)
}
