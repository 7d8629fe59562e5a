package main

import "testing"

// TestNearestField checks the field suggested for an unknown one.
func TestNearestField(t *testing.T) {
	known := []string{"credential", "host", "maxChunkSize", "provider", "tls", "username"}
	for _, tt := range []struct{ key, want string }{
		{"credentails", "credential"}, // a transposition and a letter
		{"crendential", "credential"},
		{"Host", "host"},
		{"MaxChunkSize", "maxChunkSize"},
		{"provder", "provider"},
		{"usernme", "username"},
		{"tsl", "tls"},
		{"aa", ""},
		{"insecure", ""},
	} {
		if got := nearestField(tt.key, known); got != tt.want {
			t.Errorf("nearestField(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestSelectionSelects checks which host names a selection takes.
func TestSelectionSelects(t *testing.T) {
	for _, tt := range []struct {
		sel  selection
		name string
		want bool
	}{
		{selection{}, "any.example.com", true},
		{selection{hosts: []string{"GHCR.io"}}, "ghcr.io", true},
		{selection{hosts: []string{"ghcr.io"}}, "quay.io", false},
		{selection{keys: []string{dockerHubKey}}, "docker.io", true},
		{selection{keys: []string{dockerHubKey}}, "Index.Docker.io", true},
		{selection{keys: []string{"ghcr.io"}}, "quay.io", false},
	} {
		if got := tt.sel.selects(tt.name); got != tt.want {
			t.Errorf("%+v selects %q = %v, want %v", tt.sel, tt.name, got, tt.want)
		}
	}
}
