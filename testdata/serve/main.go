// Command serve serves a folder over HTTP on 127.0.0.1 for the release
// end-to-end test (.ci/release-e2e): it writes the address it listens on
// to the file -addr names, then serves until killed.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	dir := flag.String("dir", ".", "folder to serve")
	addrFile := flag.String("addr", "", "file to write host:port to")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "✗ serve: %s\n", err)
		os.Exit(1)
	}
	// Written once listening, so the reader can connect at once.
	if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "✗ serve: %s\n", err)
		os.Exit(1)
	}
	if err := http.Serve(ln, http.FileServer(http.Dir(*dir))); err != nil {
		fmt.Fprintf(os.Stderr, "✗ serve: %s\n", err)
		os.Exit(1)
	}
}
