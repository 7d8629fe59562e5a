package main

import (
	"errors"
	"time"
)

// signJWT signs a JWT with the private JWK in jwk (a bare JWK or a set of
// exactly one key): iss, sub, aud (an array), exp = now+lifetime, iat = now,
// nbf = now-30s and a random jti. It returns the token and its expiry.
func signJWT(jwk []byte, iss, sub string, aud []string, lifetime time.Duration, now time.Time) (string, time.Time, error) {
	return "", time.Time{}, errors.New("signJWT: not implemented")
}

// jwtExpiry returns the exp claim of token read without verifying it, or
// the zero time when token is not a JWT with an exp claim.
func jwtExpiry(token string) time.Time { return time.Time{} }
