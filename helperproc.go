package main

// Bounds on a credential helper's process: how much of its output is read,
// and (helperproc_unix.go) what is killed at the deadline.

import (
	"bytes"
	"fmt"
)

// maxHelperOutput bounds what is kept of a helper's stdout. An answer is
// one line of JSON or a short message; without a bound a broken or hostile
// helper's endless answer is read into memory whole.
const maxHelperOutput = 64 << 10

// errOutputTooLarge stops the copy of a helper's stdout past the bound.
var errOutputTooLarge = fmt.Errorf("output too large (more than %d KiB)", maxHelperOutput>>10)

// boundedOutput keeps a helper's stdout up to maxHelperOutput; past it,
// it keeps nothing more, calls overflow once (which stops the helper) and
// fails the copy, which closes the helper's pipe.
type boundedOutput struct {
	buf      bytes.Buffer
	overflow func()
	over     bool
}

func (b *boundedOutput) Write(p []byte) (int, error) {
	if b.over || b.buf.Len()+len(p) > maxHelperOutput {
		if !b.over {
			b.over = true
			b.overflow()
		}
		return 0, errOutputTooLarge
	}
	return b.buf.Write(p)
}

// tooLarge reports whether the output went past the bound.
func (b *boundedOutput) tooLarge() bool { return b.over }
