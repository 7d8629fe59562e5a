package main

import (
	"errors"
	"io"
)

func runKeygen(args []string, stdout io.Writer) error {
	return errors.New("keygen: not implemented")
}
