package main

import (
	"slices"
	"testing"
	"time"
)

// TestKubeletCacheDuration: the kubelet keeps a credential until its
// expiry less the helper cache's margin, never a minted or signed one of
// unknown expiry, and a config value for the provider's default.
func TestKubeletCacheDuration(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	value := hostConfig{Host: "r.example", Username: "u", Credential: &credentialConfig{Value: "v"}}
	jwk := hostConfig{Host: "r.example", Username: "u", Credential: &credentialConfig{JWKPath: "k.json"}}
	minted := hostConfig{Host: "r.example", Username: "u", Credential: &credentialConfig{Provider: "github"}}
	cloud := hostConfig{Host: "r.example", Provider: "ecr"}
	pod := hostConfig{Host: "r.example", Credential: &credentialConfig{Provider: kubeletSource}}
	for _, tc := range []struct {
		name      string
		host      hostConfig
		expiresAt time.Time
		want      string
	}{
		{"value", value, time.Time{}, ""},
		{"value that is a JWT", value, now.Add(time.Hour), "45m0s"},
		{"jwkPath, 60s", jwk, now.Add(time.Minute), "30s"},
		{"jwkPath, 10m", jwk, now.Add(10 * time.Minute), "7m30s"},
		{"jwkPath without expiry", jwk, time.Time{}, "0s"},
		{"provider token, 12h", minted, now.Add(12 * time.Hour), "9h0m0s"},
		{"provider token without expiry", minted, time.Time{}, "0s"},
		{"cloud registry without expiry", cloud, time.Time{}, "0s"},
		{"ServiceAccount token without exp", pod, time.Time{}, "0s"},
		{"less life than the margin", minted, now.Add(20 * time.Second), "0s"},
	} {
		if got := kubeletCacheDuration(tc.host, tc.expiresAt, now, now); got != tc.want {
			t.Errorf("%s: cacheDuration %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestKubeletMatchImages: a Docker Hub host also matches docker.io, the
// name the kubelet gives every Docker Hub image; other hosts match as
// written, in lower case.
func TestKubeletMatchImages(t *testing.T) {
	for host, want := range map[string][]string{
		"docker.io":             {"docker.io"},
		"index.docker.io":       {"docker.io", "index.docker.io"},
		"registry-1.docker.io":  {"docker.io", "registry-1.docker.io"},
		"Registry.Example:5000": {"registry.example:5000"},
		"[::1]:5000":            {"[::1]:5000"},
	} {
		if got := kubeletMatchImages(host); !slices.Equal(got, want) {
			t.Errorf("%s: matchImages %q, want %q", host, got, want)
		}
	}
}
