package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestFingerprint pins fingerprints computed by an independent PBKDF2
// (Python's hashlib.pbkdf2_hmac("sha256", secret, b"flux-mirror
// fingerprint v2", 16000)), so that a change of salt, iterations or hash,
// which would make fingerprints stop comparing across versions, fails.
func TestFingerprint(t *testing.T) {
	tests := []struct{ secret, want string }{
		{"golden-s3cr3t", "pbkdf2:ff5de495"},
		{"hub-s3cr3t", "pbkdf2:07c6b0c8"},
	}
	for _, tt := range tests {
		got := fingerprint(tt.secret)
		if got != tt.want {
			t.Errorf("fingerprint of %d-byte secret = %s, want %s", len(tt.secret), got, tt.want)
		}
		// Not the old fingerprint, a plain SHA-256 a guess is tested
		// against in nanoseconds.
		sum := sha256.Sum256([]byte(tt.secret))
		if strings.Contains(got, hex.EncodeToString(sum[:4])) {
			t.Errorf("fingerprint %s is the plain SHA-256", got)
		}
	}
}

// TestAddFingerprints checks that every resolved secret gets its
// fingerprint, computed concurrently, and that skipped and failed hosts get
// none.
func TestAddFingerprints(t *testing.T) {
	results := []hostResult{
		{auth: hostAuth{RegistryToken: "golden-s3cr3t"}},
		{skipped: true},
		{auth: hostAuth{Username: "u", Password: "hub-s3cr3t"}},
		{err: errors.New("failed")},
	}
	for range 40 {
		results = append(results, hostResult{auth: hostAuth{RegistryToken: "golden-s3cr3t"}})
	}
	reports := make([]hostReport, len(results))
	start := time.Now()
	addFingerprints(reports, results)
	t.Logf("%d fingerprints in %s", len(results)-2, time.Since(start))
	want := []string{"pbkdf2:ff5de495", "", "pbkdf2:07c6b0c8", ""}
	for i, r := range reports {
		w := "pbkdf2:ff5de495"
		if i < len(want) {
			w = want[i]
		}
		if r.Fingerprint != w {
			t.Errorf("reports[%d].Fingerprint = %q, want %q", i, r.Fingerprint, w)
		}
	}
}
