package main

import (
	"fmt"
	"testing"
)

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

// TestEmptiedValue checks which fields substituted to nothing fail, naming
// the field and the reference, and which stay allowed.
func TestEmptiedValue(t *testing.T) {
	env := map[string]string{"EMPTY": ""}
	for _, tt := range []struct{ doc, want string }{
		{"hosts: [{host: r.example, credential: {type: jwt, value: '${EMPTY}'}}]", "hosts[0]: credential.value is empty after substituting ${EMPTY}"},
		{"hosts: [{host: r.example, credential: {type: jwt, username: '${EMPTY:-${EMPTY}}', value: x}}]", "hosts[0]: credential.username is empty after substituting ${EMPTY:-${EMPTY}}"},
		{"hosts: [{host: r.example, credential: {type: jwt, provider: aws, audiences: [a, '${EMPTY}']}}]", "hosts[0]: credential.audiences[1] is empty after substituting ${EMPTY}"},
		{"hosts: [{host: r.example, credential: {type: jwt, value: x, envelope: '${EMPTY}'}}]", ""},
		{"hosts: [{host: r.example, provider: '${EMPTY}', credential: {type: jwt, value: x}}]", ""},
	} {
		_, err := parseDoc(t.TempDir(), v1beta2Header+tt.doc, env)
		if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && got != tt.want {
			t.Errorf("%s:\n got %v\nwant %q", tt.doc, err, tt.want)
		}
	}
}
