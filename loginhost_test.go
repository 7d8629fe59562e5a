package main

import "testing"

// TestServerHost checks HOST read as docker login reads its server
// address: the host docker's ConvertToHostname keeps, Docker Hub's URL as
// docker.io, and what checkHostName must still refuse left as given.
func TestServerHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ghcr.io", "ghcr.io"},
		{"https://ghcr.io", "ghcr.io"},
		{"https://ghcr.io/", "ghcr.io"},
		{"ghcr.io/team/app", "ghcr.io"},
		{"http://localhost:5000/", "localhost:5000"},
		{"http://[::1]:5000/v2/", "[::1]:5000"},
		{"https://index.docker.io/v1/", "docker.io"},
		{"https://index.docker.io/v1", "index.docker.io"},
		{"docker.io", "docker.io"},
		{"Reg.Example.com:443/x", "Reg.Example.com:443"},
		{"ftp://ghcr.io", "ftp://ghcr.io"},
		{"https://oci://ghcr.io", "oci://ghcr.io"},
		{"https://robot@ghcr.io", "robot@ghcr.io"},
		{"https://", ""},
	}
	for _, tt := range tests {
		if got := serverHost(tt.in); got != tt.want {
			t.Errorf("serverHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
