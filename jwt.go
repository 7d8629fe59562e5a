package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
)

// jwtNotBeforeLeeway backdates nbf so that a registry whose clock is a
// little behind ours still accepts a token signed just now.
const jwtNotBeforeLeeway = 30 * time.Second

// wantKey is what every rejected JWK is told it should have been.
const wantKey = "want an Ed25519 or ECDSA (P-256, P-384, P-521) private key"

// jwtClaims are the registered claims of RFC 7519 section 4.1 that a signed
// token carries, in the order they are written. aud is always an array:
// go-jose's jwt.Audience would write a single audience as a bare string.
type jwtClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	Expiry    int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
}

// signJWT signs a JWT with the private JWK in jwk (a bare JWK or a set of
// exactly one key): iss, sub, aud (an array), exp = now+lifetime, iat = now,
// nbf = now-30s and a random jti. It returns the token and its expiry.
func signJWT(jwk []byte, iss, sub string, aud []string, lifetime time.Duration, now time.Time) (string, time.Time, error) {
	if len(aud) == 0 {
		return "", time.Time{}, errors.New("sign JWT: at least one audience is required")
	}
	if lifetime <= 0 {
		return "", time.Time{}, fmt.Errorf("sign JWT: lifetime %s must be greater than 0", lifetime)
	}
	key, err := parseSigningJWK(jwk)
	if err != nil {
		return "", time.Time{}, err
	}
	alg, err := signingAlgorithm(key.Key)
	if err != nil {
		return "", time.Time{}, err
	}

	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, fmt.Errorf("sign JWT: jti: %w", err)
	}
	// NumericDate is whole seconds since the epoch (RFC 7519 section 2).
	expiry := time.Unix(now.Add(lifetime).Unix(), 0)
	claims := jwtClaims{
		Issuer:    iss,
		Subject:   sub,
		Audience:  aud,
		Expiry:    expiry.Unix(),
		NotBefore: now.Add(-jwtNotBeforeLeeway).Unix(),
		IssuedAt:  now.Unix(),
		ID:        hex.EncodeToString(jti),
	}
	var payload bytes.Buffer
	enc := json.NewEncoder(&payload)
	// Keep an issuer URL's & and < as written rather than \u0026, so the
	// claims read back exactly as configured.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(claims); err != nil {
		return "", time.Time{}, fmt.Errorf("sign JWT: encode claims: %w", err)
	}

	opts := (&jose.SignerOptions{}).WithType("JWT")
	// An empty kid names no key, so the header leaves it out.
	if key.KeyID != "" {
		opts = opts.WithHeader("kid", key.KeyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key.Key}, opts)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign JWT: %w", err)
	}
	jws, err := signer.Sign(bytes.TrimSuffix(payload.Bytes(), []byte("\n")))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign JWT: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign JWT: %w", err)
	}
	return token, expiry, nil
}

// parseSigningJWK reads a private JWK, bare or as the only key of a JWK set
// (RFC 7517 section 5). A JWK is a secret, so no error here quotes the
// input: JSON decoding errors can hold a piece of it and are described by
// position or field name instead.
func parseSigningJWK(data []byte) (*jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse JWK: %s", describeJSONError(err))
	}
	// A document without "keys" (or with "keys": null) is a bare JWK.
	raw := json.RawMessage(data)
	if set.Keys != nil {
		if len(set.Keys) != 1 {
			return nil, fmt.Errorf("JWK set must contain exactly one key, got %d", len(set.Keys))
		}
		raw = set.Keys[0]
	}

	// Name the key type before go-jose parses it: go-jose reports an
	// unknown kty or curve only as "unsupported".
	var kind struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
	}
	if err := json.Unmarshal(raw, &kind); err != nil {
		return nil, fmt.Errorf("parse JWK: %s", describeJSONError(err))
	}
	switch kind.Kty {
	case "":
		return nil, errors.New("parse JWK: missing kty")
	case "RSA":
		return nil, fmt.Errorf("JWK is an RSA key: %s", wantKey)
	case "oct":
		return nil, fmt.Errorf("JWK is a symmetric (oct) key: %s", wantKey)
	case "EC", "OKP":
	default:
		return nil, fmt.Errorf("JWK key type %q is not supported: %s", kind.Kty, wantKey)
	}

	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(raw); err != nil {
		var typeErr *josejson.UnmarshalTypeError
		var syntaxErr *josejson.SyntaxError
		if errors.As(err, &typeErr) || errors.As(err, &syntaxErr) {
			// go-jose's decoder quotes the offending value.
			return nil, errors.New("parse JWK: a member has the wrong JSON type")
		}
		if errors.Is(err, jose.ErrUnsupportedKeyType) {
			return nil, fmt.Errorf("JWK curve %q is not supported: %s", kind.Crv, wantKey)
		}
		// go-jose's own errors name fields, never their values.
		return nil, fmt.Errorf("parse JWK: %s", strings.TrimPrefix(err.Error(), "go-jose/go-jose: "))
	}
	if key.IsPublic() {
		return nil, errors.New("JWK is a public key: want the private key")
	}
	// go-jose checks that an Ed25519 d matches x but takes an ECDSA d on
	// trust; a d that is not x, y's would sign tokens that the published
	// public key never verifies, so the registry would reject every one.
	if k, ok := key.Key.(*ecdsa.PrivateKey); ok {
		d, err := k.Bytes()
		if err != nil {
			return nil, errors.New("parse JWK: invalid ECDSA private key")
		}
		derived, err := ecdsa.ParseRawPrivateKey(k.Curve, d)
		if err != nil || !derived.PublicKey.Equal(&k.PublicKey) {
			return nil, errors.New("parse JWK: d is not the private key of x, y")
		}
	}
	return &key, nil
}

// signingAlgorithm is the JWS algorithm (RFC 7518 section 3.1, RFC 8037
// section 3.1) for a private key. It follows the key, never the JWK's
// "alg", so a key cannot be talked into a weaker or mismatched algorithm.
func signingAlgorithm(key any) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return jose.EdDSA, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("JWK curve %q is not supported: %s", k.Curve.Params().Name, wantKey)
	}
	return "", fmt.Errorf("JWK holds a %T: %s", key, wantKey)
}

// describeJSONError says what is wrong with a JSON document without the
// text of encoding/json's errors, which can quote the input (a number, or
// the character at fault).
func describeJSONError(err error) string {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not valid JSON (syntax error at byte %d)", syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Sprintf("%q must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type))
	case errors.As(err, &typeErr):
		return "not a JSON object"
	}
	return "not valid JSON"
}

// jsonKind names the JSON type that decodes into a Go type.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return t.Kind().String()
}

// maxNumericDate is 9999-12-31T23:59:59Z, the last instant RFC 3339 can
// write; an exp past it is not a date.
const maxNumericDate = 253402300799

// minNumericDate is 0000-01-01T00:00:00Z, the first instant it can write.
const minNumericDate = -62167219200

// jwtExpiry returns the exp claim of token read without verifying it, or
// the zero time when token is not a JWT with an exp claim. It reads any
// compact JWS (RFC 7515 section 7.1), including the unsigned aws envelope
// whose signature segment is empty, and never fails on bad input.
func jwtExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	var header map[string]json.RawMessage
	if !decodeSegment(parts[0], &header) || header == nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.RawMessage `json:"exp"`
	}
	if !decodeSegment(parts[1], &claims) {
		return time.Time{}
	}
	// NumericDate is a JSON number, possibly fractional (RFC 7519 section
	// 2); a string is not one, and a number out of range is not a date.
	var exp float64
	if json.Unmarshal(claims.Exp, &exp) != nil || exp <= 0 || exp > maxNumericDate {
		return time.Time{}
	}
	sec, frac := math.Modf(exp)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// decodeSegment decodes a base64url (unpadded, RFC 7515 section 2) JSON
// segment into v and reports whether it could.
func decodeSegment(segment string, v any) bool {
	data, err := base64.RawURLEncoding.DecodeString(segment)
	return err == nil && json.Unmarshal(data, v) == nil
}
