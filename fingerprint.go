package main

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"sync"
)

// The fingerprint's derivation. A fingerprint is printed, so anyone who
// reads a CI log can test guesses of the secret against it offline; a fast
// hash lets a weak password fall in milliseconds. PBKDF2 makes each guess
// cost what a fingerprint costs here, a few milliseconds. The salt is fixed,
// not random, so that one secret has one fingerprint across runs and
// machines, which is what an audit compares; it names the tool and the
// version, so that a fingerprint is not a PBKDF2 value any other tool
// computes, and the prefix changes with the version, so that fingerprints
// of two versions are never compared as if alike.
const (
	fingerprintPrefix     = "pbkdf2:"
	fingerprintSalt       = "flux-mirror fingerprint v2"
	fingerprintIterations = 16000 // about 3 ms on one core of this project's CI machine
	fingerprintHexDigits  = 8     // enough to tell two secrets apart in an audit
)

// fingerprint names a secret without revealing it (see the constants).
func fingerprint(secret string) string {
	// A whole SHA-256 block is derived, at the cost of a shorter one, and
	// cut: FIPS 140-only mode refuses a key under 112 bits.
	key, err := pbkdf2.Key(sha256.New, secret, []byte(fingerprintSalt), fingerprintIterations, sha256.Size)
	if err != nil {
		// Key fails only for parameters FIPS 140-only mode refuses (a salt
		// under 16 bytes, fewer than 1000 iterations): ours are fixed and
		// allowed, so this is a bug.
		panic("fingerprint: " + err.Error())
	}
	return fingerprintPrefix + hex.EncodeToString(key)[:fingerprintHexDigits]
}

// addFingerprints fills in the fingerprint of each resolved host's secret.
// results[i] is the result reports[i] describes. It is called only when the
// fingerprints are shown: at a few milliseconds each, they would cost a
// plain 200-host login more than its start-up, the budget bench/README.md
// sets. They are derived
// on every core at once.
func addFingerprints(reports []hostReport, results []hostResult) {
	todo := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(results)) {
		wg.Go(func() {
			for i := range todo {
				reports[i].Fingerprint = fingerprint(results[i].auth.secret())
			}
		})
	}
	for i, r := range results {
		if r.err == nil && !r.skipped && r.auth.secret() != "" {
			todo <- i
		}
	}
	close(todo)
	wg.Wait()
}

// secret is the part of a that is secret: the registry token or the
// password.
func (a hostAuth) secret() string {
	if a.RegistryToken != "" {
		return a.RegistryToken
	}
	return a.Password
}
