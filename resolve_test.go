package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestResolveHostsDeadline shows --timeout holds even for a host whose
// resolution never returns: it is reported as timed out, and the other
// hosts keep their results and their order.
func TestResolveHostsDeadline(t *testing.T) {
	// Minted credentials: a value written in the config is resolved
	// without a goroutine, as it cannot hang.
	hosts := []hostConfig{
		{Host: "fast.example.com", Credential: &credentialConfig{Provider: "github"}},
		{Host: "tls-only.example.com"},
		{Host: "stuck.example.com", Credential: &credentialConfig{Provider: "github"}},
	}
	secrets := map[string]string{"fast.example.com": "fast-s3cret", "stuck.example.com": "stuck-s3cret"}
	block := make(chan struct{})
	defer close(block)
	start := time.Now()
	results := resolveHostsWith(hosts, 200*time.Millisecond, func(_ context.Context, h hostConfig) (hostAuth, error) {
		if h.Host == "stuck.example.com" {
			<-block // ignores the context, like a hung library call
		}
		return hostAuth{RegistryToken: secrets[h.Host]}, nil
	})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("resolveHosts took %s with a 200ms timeout", elapsed)
	}
	checkNoSecrets(t, []string{"fast-s3cret", "stuck-s3cret"}, "", nil, fmt.Sprint(results[0].err), fmt.Sprint(results[2].err))
	if r := results[0]; r.err != nil || r.auth.RegistryToken != "fast-s3cret" {
		t.Errorf("fast host: err %v, or not its token", r.err)
	}
	if r := results[1]; !r.skipped {
		t.Errorf("tls-only host not skipped: %+v", r)
	}
	if r := results[2]; r.err == nil || !strings.Contains(r.err.Error(), "not resolved within --timeout 200ms") {
		t.Errorf("stuck host: err = %v, want a timeout naming --timeout", r.err)
	}
}
