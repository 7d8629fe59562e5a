package main

import (
	"strings"
	"testing"
)

// TestApplyEnvelope checks credential.envelope rendering.
func TestApplyEnvelope(t *testing.T) {
	const token = "abc"
	tests := []struct {
		envelope string
		want     string
		wantErr  string
	}{
		{"", "abc", ""},
		{"static", "static", ""},
		{"{{ .Token }}", "abc", ""},
		{"token-{{ hex .Token }}", "token-616263", ""},
		{"{{ base64 .Token }}", "YWJj", ""},
		{"{{ base64 \"ab\" }}", "YWI=", ""},
		{"Bearer {{ .Token | base64 }}", "Bearer YWJj", ""},
		{"{{ .Token", "", "parse envelope: template: envelope:1: unclosed action"},
		{"{{ nope .Token }}", "", `parse envelope: template: envelope:1: function "nope" not defined`},
		{"{{ .Nope }}", "", `render envelope: template: envelope:1:3: executing "envelope" at <.Nope>: can't evaluate field Nope in type struct { Token string }`},
		{"{{ index .Token 7 }}", "", `render envelope: template: envelope:1:3: executing "envelope" at <index .Token 7>: error calling index: index out of range: 7`},
		{"{{ if false }}x{{ end }}", "", "render envelope: the result is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.envelope, func(t *testing.T) {
			got, err := applyEnvelope(tt.envelope, token)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got %v\nwant %s", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("the error shows the token")
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("applyEnvelope = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
