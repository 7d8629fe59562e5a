//go:build !unix

package main

import (
	"io/fs"
	"os"
)

// keepOwner does nothing where files have no unix owner, as in docker's
// configfile.Save on Windows.
func keepOwner(*os.File, fs.FileInfo) {}
