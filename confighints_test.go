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
