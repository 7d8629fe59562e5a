package main

import (
	"bytes"
	"testing"
)

func TestWarnAuthConfigEnv(t *testing.T) {
	hosts := []string{"ghcr.io", "Registry.Example.COM:5000", "docker.io", "quay.io"}
	for _, tc := range []struct {
		name, value, want string
	}{
		{"unset", "", ""},
		{"other hosts", `{"auths": {"gcr.io": {"auth": "dTpw"}}}`, ""},
		{"by key", `{"auths": {"ghcr.io": {"auth": "dTpw"}}}`,
			"⚠ DOCKER_AUTH_CONFIG has an entry for ghcr.io: docker 28.3+ uses it instead of what login stores\n"},
		{"by URL, any case", `{"auths": {"https://registry.example.com:5000/v2/": {}}}`,
			"⚠ DOCKER_AUTH_CONFIG has an entry for Registry.Example.COM:5000: docker 28.3+ uses it instead of what login stores\n"},
		{"docker hub key", `{"auths": {"https://index.docker.io/v1/": {}}}`,
			"⚠ DOCKER_AUTH_CONFIG has an entry for docker.io: docker 28.3+ uses it instead of what login stores\n"},
		{"not JSON", `{"auths": {"ghcr.io": {"auth": "s3cr3t"`,
			"⚠ DOCKER_AUTH_CONFIG is set but cannot be read (not a JSON document {\"auths\": {...}}); docker 28.3+ reads credentials from it before config.json and credential helpers\n"},
		{"another field", `{"auths": {}, "credsStore": "pass"}`,
			"⚠ DOCKER_AUTH_CONFIG is set but cannot be read (not a JSON document {\"auths\": {...}}); docker 28.3+ reads credentials from it before config.json and credential helpers\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			warnAuthConfigEnv(tc.value, hosts, &stderr)
			if stderr.String() != tc.want {
				t.Errorf("got %q, want %q", stderr.String(), tc.want)
			}
			checkNoSecrets(t, []string{"s3cr3t", "dTpw"}, "", nil, stderr.String())
		})
	}
}
