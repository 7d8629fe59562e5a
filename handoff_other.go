//go:build !unix

package main

import "errors"

// execHandOff is unix's: elsewhere the full binary runs as a child.
func execHandOff(string, []string, []string, []byte) error { return errors.ErrUnsupported }
