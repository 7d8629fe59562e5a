package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// defaultJWTLifetime is a signed JWT's lifetime when credential.exp is unset.
const defaultJWTLifetime = 60 * time.Second

// resolveHost obtains h's credential in the shape it is stored: a cloud
// provider's username/password, the credential as the password of
// h.Username, or the credential as a bearer registry token.
func resolveHost(ctx context.Context, cfg *config, h hostConfig, now func() time.Time) (hostAuth, error) {
	if h.Provider != "" {
		a, err := registryLogin(ctx, h.Provider, h.Host)
		if err != nil {
			return hostAuth{}, fmt.Errorf("provider %s: %w", h.Provider, cloudError(cloudOfProvider[h.Provider], err))
		}
		return a, nil
	}
	token, expiresAt, err := resolveToken(ctx, cfg, h, now)
	if err != nil {
		return hostAuth{}, err
	}
	// The envelope wraps the token the registry receives, whether it is
	// sent as a password or as a bearer token (the expiry stays the inner
	// token's).
	if token, err = applyEnvelope(h.Credential.Envelope, token); err != nil {
		return hostAuth{}, fmt.Errorf("credential: %w", err)
	}
	if h.Username != "" {
		return hostAuth{Username: h.Username, Password: token, ExpiresAt: expiresAt}, nil
	}
	return hostAuth{RegistryToken: token, ExpiresAt: expiresAt}, nil
}

// resolveToken obtains the secret of h's credential block and, when it is
// known, when it expires.
func resolveToken(ctx context.Context, cfg *config, h hostConfig, now func() time.Time) (string, time.Time, error) {
	c := h.Credential
	switch {
	case c.Value != "":
		return c.Value, jwtExpiry(c.Value), nil
	case c.FromPath != "":
		data, err := cfg.readFile(c.FromPath)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("credential: fromPath: %w", err)
		}
		token := strings.TrimSpace(string(data))
		if token == "" {
			return "", time.Time{}, fmt.Errorf("credential: fromPath: %s is empty", c.FromPath)
		}
		return token, jwtExpiry(token), nil
	case c.JWKPath != "":
		jwk, err := cfg.readFile(c.JWKPath)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("credential: jwkPath: %w", err)
		}
		return signHostJWT(jwk, c, h.Host, now(), "jwkPath")
	case c.JWKValue != "":
		return signHostJWT([]byte(c.JWKValue), c, h.Host, now(), "jwkValue")
	case c.Provider == kubeletSource:
		// The one place the kubelet source is refused outside the kubelet
		// plugin: login, the helper and secret all resolve through here.
		token, err := kubeletToken(ctx)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("credential: provider %s: %w", kubeletSource, err)
		}
		return token, jwtExpiry(token), nil
	case c.Provider != "":
		token, expiresAt, err := mintToken(ctx, c.Provider, c.audiences(h.Host), len(c.Audiences) > 0, now())
		if err != nil {
			// A provider of no cloud has no entry: cloudError keeps err.
			return "", time.Time{}, fmt.Errorf("credential: provider %s: %w", c.Provider, cloudError(c.Provider, err))
		}
		return token, expiresAt, nil
	}
	// The config loader guarantees one source; this is unreachable.
	return "", time.Time{}, errors.New("credential: no source configured")
}

func signHostJWT(jwk []byte, c *credentialConfig, host string, now time.Time, field string) (string, time.Time, error) {
	lifetime := c.Expiration
	if lifetime == 0 {
		lifetime = defaultJWTLifetime
	}
	token, expiresAt, err := signJWT(jwk, c.Issuer, c.Subject, c.audiences(host), lifetime, now)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("credential: %s: %w", field, err)
	}
	return token, expiresAt, nil
}
