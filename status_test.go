package main

import (
	"testing"
	"time"
)

func TestStatusLine(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(90*time.Minute), now.Add(-2*time.Hour)
	for _, tc := range []struct {
		r    hostReport
		want string
	}{
		{hostReport{Host: "ghcr.io", Status: statusStored, Helper: "pass", Kind: kindUserPass, Username: "robot", Fingerprint: "sha256:00112233"},
			`✔ ghcr.io: stored via the "pass" credential helper: username/password (username robot), sha256:00112233`},
		{hostReport{Host: "r.example.com", Status: statusStored, ConfigFile: "/d/config.json", Kind: kindRegistryToken, Fingerprint: "sha256:00112233", ExpiresAt: &later},
			`✔ r.example.com: stored in /d/config.json: registry token, sha256:00112233, expires in 1h30m`},
		{hostReport{Host: "r.example.com", Status: statusExpired, ConfigFile: "/d/config.json", Kind: kindRegistryToken, Fingerprint: "sha256:00112233", ExpiresAt: &earlier},
			`⚠ r.example.com: expired in /d/config.json: registry token, sha256:00112233, expired 2h ago`},
		{hostReport{Host: "q.io", Status: statusStored, Helper: "pass", Kind: kindUserPass, Username: "u", Fingerprint: "sha256:00112233", ShadowedBy: authConfigEnv},
			`⚠ q.io: stored via the "pass" credential helper: username/password (username u), sha256:00112233; shadowed by DOCKER_AUTH_CONFIG`},
		{hostReport{Host: "q.io", Status: statusNothing, ConfigFile: "/d/config.json"},
			`• nothing stored for q.io`},
		{hostReport{Host: "q.io", Status: statusUnknown, Helper: "pass", Error: "docker-credential-pass get: locked"},
			`⚠ q.io: unknown via the "pass" credential helper: docker-credential-pass get: locked`},
	} {
		if got := statusLine(tc.r, now); got != tc.want {
			t.Errorf("statusLine(%+v) =\n%s\nwant\n%s", tc.r, got, tc.want)
		}
	}
}
