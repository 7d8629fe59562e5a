package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testNow is the fixed clock of the signing tests; its fraction of a
// second checks that NumericDates are truncated to whole seconds.
var testNow = time.Date(2025, 3, 4, 5, 6, 7, 600_000_000, time.UTC)

// testKey is a freshly generated key pair as JWK JSON, with the private
// parameters that must never show in an error.
type testKey struct {
	private, public []byte
	secrets         []string
}

// newTestKey marshals key (a private key) and its public half as JWKs
// with the given kid and alg.
func newTestKey(t *testing.T, key crypto.Signer, kid, alg string) testKey {
	t.Helper()
	priv := jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: "sig"}
	privJSON, err := json.Marshal(priv)
	if err != nil {
		t.Fatalf("marshal private JWK: %v", err)
	}
	pubJSON, err := json.Marshal(priv.Public())
	if err != nil {
		t.Fatalf("marshal public JWK: %v", err)
	}
	var params map[string]any
	if err := json.Unmarshal(privJSON, &params); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, name := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if v, ok := params[name].(string); ok {
			secrets = append(secrets, v)
		}
	}
	if len(secrets) == 0 {
		t.Fatalf("private JWK has no private parameter")
	}
	return testKey{private: privJSON, public: pubJSON, secrets: secrets}
}

func newEd25519Key(t *testing.T, kid, alg string) testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newTestKey(t, priv, kid, alg)
}

func newECDSAKey(t *testing.T, curve elliptic.Curve, kid string) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newTestKey(t, priv, kid, "")
}

// withParam returns the JWK jwk with one parameter set to value.
func withParam(t *testing.T, jwk []byte, name, value string) []byte {
	t.Helper()
	var params map[string]any
	if err := json.Unmarshal(jwk, &params); err != nil {
		t.Fatal(err)
	}
	params[name] = value
	out, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// keySet wraps JWKs in a JWK set.
func keySet(keys ...[]byte) []byte {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = string(k)
	}
	return []byte(`{"keys":[` + strings.Join(parts, ",") + `]}`)
}

// decodeJWT splits a compact JWT and returns its header and claims JSON.
func decodeJWT(t *testing.T, token string) (header, claims string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[2] == "" {
		t.Fatalf("token has %d segments, want 3 with a signature", len(parts))
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	c, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("claims: %v", err)
	}
	return string(h), string(c)
}

// verifyJWT checks token's signature with the public JWK, accepting only
// alg, and returns the verified claims.
func verifyJWT(t *testing.T, token string, publicJWK []byte, alg jose.SignatureAlgorithm) []byte {
	t.Helper()
	var pub jose.JSONWebKey
	if err := pub.UnmarshalJSON(publicJWK); err != nil {
		t.Fatalf("parse public JWK: %v", err)
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("parse token as %s: %v", alg, err)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		t.Fatalf("verify with the public JWK: %v", err)
	}
	return payload
}

func TestSignJWTKeyTypes(t *testing.T) {
	tests := []struct {
		name    string
		key     testKey
		wantAlg jose.SignatureAlgorithm
	}{
		{"Ed25519", newEd25519Key(t, "ed-1", "EdDSA"), jose.EdDSA},
		{"P-256", newECDSAKey(t, elliptic.P256(), "p256-1"), jose.ES256},
		{"P-384", newECDSAKey(t, elliptic.P384(), "p384-1"), jose.ES384},
		{"P-521", newECDSAKey(t, elliptic.P521(), "p521-1"), jose.ES512},
		// The algorithm follows the key, whatever the JWK's alg claims.
		{"Ed25519 with a misleading alg", newEd25519Key(t, "ed-2", "HS256"), jose.EdDSA},
	}
	for _, tt := range tests {
		for _, form := range []struct {
			name string
			jwk  []byte
		}{
			{"bare", tt.key.private},
			{"set", keySet(tt.key.private)},
		} {
			t.Run(tt.name+"/"+form.name, func(t *testing.T) {
				token, _, err := signJWT(form.jwk, "iss", "sub", []string{"aud"}, time.Minute, testNow)
				checkNoSecrets(t, tt.key.secrets, "", nil, token, fmt.Sprint(err))
				if err != nil {
					t.Fatalf("signJWT: %v", err)
				}
				verifyJWT(t, token, tt.key.public, tt.wantAlg)
				header, _ := decodeJWT(t, token)
				var h map[string]any
				if err := json.Unmarshal([]byte(header), &h); err != nil {
					t.Fatal(err)
				}
				if h["alg"] != string(tt.wantAlg) {
					t.Errorf("header alg = %v, want %s", h["alg"], tt.wantAlg)
				}
			})
		}
	}
}

func TestSignJWTHeaderAndClaims(t *testing.T) {
	key := newEd25519Key(t, "key-1", "EdDSA")
	token, expiry, err := signJWT(key.private, "https://issuer.example/a?b&c", "client-id",
		[]string{"registry.example.com", "second"}, 90*time.Second, testNow)
	checkNoSecrets(t, key.secrets, "", nil, token, fmt.Sprint(err))
	if err != nil {
		t.Fatalf("signJWT: %v", err)
	}
	header, claims := decodeJWT(t, token)
	if want := `{"alg":"EdDSA","kid":"key-1","typ":"JWT"}`; header != want {
		t.Errorf("header = %s, want %s", header, want)
	}
	// 2025-03-04T05:06:07Z is 1741064767.
	jti := regexp.MustCompile(`"jti":"([0-9a-f]{32})"`).FindStringSubmatch(claims)
	if jti == nil {
		t.Fatalf("claims %s have no jti of 32 lowercase hex digits", claims)
	}
	want := `{"iss":"https://issuer.example/a?b&c","sub":"client-id","aud":["registry.example.com","second"],` +
		`"exp":1741064857,"nbf":1741064737,"iat":1741064767,"jti":"` + jti[1] + `"}`
	if claims != want {
		t.Errorf("claims =\n%s\nwant\n%s", claims, want)
	}
	if want := time.Unix(1741064857, 0); !expiry.Equal(want) {
		t.Errorf("expiry = %v, want %v", expiry, want)
	}
	if got := jwtExpiry(token); !got.Equal(expiry) {
		t.Errorf("jwtExpiry = %v, want the returned expiry %v", got, expiry)
	}
}

func TestSignJWTOneAudienceIsAnArray(t *testing.T) {
	key := newECDSAKey(t, elliptic.P256(), "k")
	token, _, err := signJWT(key.private, "i", "s", []string{"registry.example.com"}, time.Minute, testNow)
	checkNoSecrets(t, key.secrets, "", nil, token, fmt.Sprint(err))
	if err != nil {
		t.Fatalf("signJWT: %v", err)
	}
	_, claims := decodeJWT(t, token)
	if !strings.Contains(claims, `"aud":["registry.example.com"]`) {
		t.Errorf("claims %s: aud is not a one-element array", claims)
	}
}

func TestSignJWTWithoutKid(t *testing.T) {
	key := newEd25519Key(t, "", "")
	token, _, err := signJWT(key.private, "i", "s", []string{"a"}, time.Minute, testNow)
	checkNoSecrets(t, key.secrets, "", nil, token, fmt.Sprint(err))
	if err != nil {
		t.Fatalf("signJWT: %v", err)
	}
	header, _ := decodeJWT(t, token)
	if want := `{"alg":"EdDSA","typ":"JWT"}`; header != want {
		t.Errorf("header = %s, want %s", header, want)
	}
}

func TestSignJWTRandomJTI(t *testing.T) {
	key := newEd25519Key(t, "k", "")
	seen := map[string]bool{}
	for range 3 {
		token, _, err := signJWT(key.private, "i", "s", []string{"a"}, time.Minute, testNow)
		checkNoSecrets(t, key.secrets, "", nil, token, fmt.Sprint(err))
		if err != nil {
			t.Fatalf("signJWT: %v", err)
		}
		_, claims := decodeJWT(t, token)
		var c struct{ JTI string }
		if err := json.Unmarshal([]byte(claims), &c); err != nil {
			t.Fatal(err)
		}
		if seen[c.JTI] {
			t.Fatalf("jti %s repeated for the same inputs and clock", c.JTI)
		}
		seen[c.JTI] = true
	}
}

func TestSignJWTRejects(t *testing.T) {
	ed := newEd25519Key(t, "ed", "EdDSA")
	ec := newECDSAKey(t, elliptic.P256(), "ec")
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := newTestKey(t, rsaPriv, "rsa", "RS256")

	// An ECDSA key whose d is not the private half of x, y.
	other := newECDSAKey(t, elliptic.P256(), "other")
	mismatched := withParam(t, ec.private, "d", other.secrets[0])

	const octSecret = "c3ltbWV0cmljLXNlY3JldC1rZXktbWF0ZXJpYWw"
	const x25519Secret = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo"
	tests := []struct {
		name    string
		jwk     []byte
		secrets []string
		wantErr string
	}{
		{"RSA private", rsaKey.private, rsaKey.secrets, "JWK is an RSA key: want an Ed25519 or ECDSA (P-256, P-384, P-521) private key"},
		{"RSA public", rsaKey.public, rsaKey.secrets, "JWK is an RSA key"},
		{"Ed25519 public", ed.public, ed.secrets, "JWK is a public key: want the private key"},
		{"P-256 public", ec.public, ec.secrets, "JWK is a public key: want the private key"},
		{"P-256 public set", keySet(ec.public), ec.secrets, "JWK is a public key"},
		{"oct", []byte(`{"kty":"oct","k":"` + octSecret + `"}`), []string{octSecret}, "JWK is a symmetric (oct) key"},
		{"secp256k1", withParam(t, ec.private, "crv", "secp256k1"), ec.secrets, `JWK curve "secp256k1" is not supported: want an Ed25519`},
		{"X25519", []byte(`{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo","d":"` + x25519Secret + `"}`),
			[]string{x25519Secret}, `JWK curve "X25519" is not supported`},
		{"unknown kty", []byte(`{"kty":"XYZ","d":"` + octSecret + `"}`), []string{octSecret}, `JWK key type "XYZ" is not supported`},
		{"no kty", []byte(`{"d":"` + octSecret + `"}`), []string{octSecret}, "parse JWK: missing kty"},
		{"empty set", []byte(`{"keys":[]}`), nil, "JWK set must contain exactly one key, got 0"},
		{"set of two", keySet(ed.private, ec.private), append(ed.secrets, ec.secrets...), "JWK set must contain exactly one key, got 2"},
		{"not JSON", []byte("secret-looking garbage " + octSecret), []string{"secret", octSecret}, "parse JWK: not valid JSON (syntax error at byte 1)"},
		{"empty", nil, nil, "parse JWK: not valid JSON"},
		{"truncated", ed.private[:len(ed.private)/2], ed.secrets, "parse JWK: not valid JSON"},
		{"binary", []byte{0xff, 0x00, 0x1b, '{'}, nil, "parse JWK: not valid JSON"},
		{"array", []byte(`["` + octSecret + `"]`), []string{octSecret}, "parse JWK: not a JSON object"},
		{"keys not an array", []byte(`{"keys":1234567}`), []string{"1234567"}, `parse JWK: "keys" must be a JSON array`},
		{"kty not a string", []byte(`{"kty":7654321}`), []string{"7654321"}, `parse JWK: "kty" must be a JSON string`},
		{"d not a string", []byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":9876543}`),
			[]string{"9876543"}, "parse JWK: a member has the wrong JSON type"},
		{"d not base64url", withParam(t, ec.private, "d", "not*base64"), append(ec.secrets, "not*base64"), "parse JWK: illegal base64 data"},
		{"d of the wrong length", withParam(t, ec.private, "d", "AAAA"), ec.secrets, "parse JWK: invalid EC private key, wrong length for d"},
		{"x of the wrong length", withParam(t, ec.private, "x", "AAAA"), ec.secrets, "parse JWK: invalid EC private key, wrong length for x"},
		{"Ed25519 x of another key", withParam(t, ed.private, "x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"), ed.secrets, "parse JWK: invalid Ed25519 private key, x does not match d"},
		{"EC d of another key", mismatched, append(ec.secrets, other.secrets...), "parse JWK: d is not the private key of x, y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, expiry, err := signJWT(tt.jwk, "iss", "sub", []string{"aud"}, time.Minute, testNow)
			if err == nil {
				t.Fatalf("signJWT succeeded, want error %q", tt.wantErr)
			}
			checkNoSecrets(t, tt.secrets, "", nil, err.Error())
			if token != "" || !expiry.IsZero() {
				t.Errorf("signJWT returned a token or expiry with its error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSignJWTArguments(t *testing.T) {
	key := newEd25519Key(t, "k", "")
	tests := []struct {
		name     string
		aud      []string
		lifetime time.Duration
		wantErr  string
	}{
		{"no audience", nil, time.Minute, "sign JWT: at least one audience is required"},
		{"zero lifetime", []string{"a"}, 0, "sign JWT: lifetime 0s must be greater than 0"},
		{"negative lifetime", []string{"a"}, -time.Second, "sign JWT: lifetime -1s must be greater than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := signJWT(key.private, "i", "s", tt.aud, tt.lifetime, testNow)
			checkNoSecrets(t, key.secrets, "", nil, fmt.Sprint(err))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// compactJWS builds a compact token from a JSON header and claims.
func compactJWS(header, claims, signature string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + signature
}

func TestJWTExpiry(t *testing.T) {
	const alg = `{"alg":"ES256","typ":"JWT"}`
	tests := []struct {
		name  string
		token string
		want  time.Time
	}{
		{"integer exp", compactJWS(alg, `{"sub":"x","exp":1700000000}`, "c2ln"), time.Unix(1700000000, 0)},
		{"fractional exp", compactJWS(alg, `{"exp":1700000000.25}`, "c2ln"), time.Unix(1700000000, 250_000_000)},
		{"exponent form", compactJWS(alg, `{"exp":1.7e9}`, "c2ln"), time.Unix(1700000000, 0)},
		{"alg none envelope with trailing dot", compactJWS(`{"alg":"none","typ":"aws-sigv4-getcalleridentity"}`, `{"aud":["a"],"exp":1700000120,"sts":{}}`, ""), time.Unix(1700000120, 0)},
		{"last RFC 3339 second", compactJWS(alg, `{"exp":253402300799}`, "c2ln"), time.Unix(253402300799, 0)},
		{"no exp", compactJWS(alg, `{"sub":"x"}`, "c2ln"), time.Time{}},
		{"exp null", compactJWS(alg, `{"exp":null}`, "c2ln"), time.Time{}},
		{"exp a string", compactJWS(alg, `{"exp":"1700000000"}`, "c2ln"), time.Time{}},
		{"exp an object", compactJWS(alg, `{"exp":{"n":1}}`, "c2ln"), time.Time{}},
		{"exp zero", compactJWS(alg, `{"exp":0}`, "c2ln"), time.Time{}},
		{"exp negative", compactJWS(alg, `{"exp":-5}`, "c2ln"), time.Time{}},
		{"exp past year 9999", compactJWS(alg, `{"exp":253402300800}`, "c2ln"), time.Time{}},
		{"exp huge integer", compactJWS(alg, `{"exp":99999999999999999999999999999}`, "c2ln"), time.Time{}},
		{"exp huge float", compactJWS(alg, `{"exp":1e308}`, "c2ln"), time.Time{}},
		{"exp beyond float64", compactJWS(alg, `{"exp":1e400}`, "c2ln"), time.Time{}},
		{"claims an array", compactJWS(alg, `[1700000000]`, "c2ln"), time.Time{}},
		{"claims null", compactJWS(alg, `null`, "c2ln"), time.Time{}},
		{"claims not JSON", compactJWS(alg, `exp=1700000000`, "c2ln"), time.Time{}},
		{"header not JSON", compactJWS(`alg`, `{"exp":1700000000}`, "c2ln"), time.Time{}},
		{"header null", compactJWS(`null`, `{"exp":1700000000}`, "c2ln"), time.Time{}},
		{"claims bad base64", "eyJhbGciOiJub25lIn0.!!!.", time.Time{}},
		{"claims padded base64", "eyJhbGciOiJub25lIn0." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1700000000}`)) + "=.", time.Time{}},
		{"two segments", strings.TrimSuffix(compactJWS(alg, `{"exp":1700000000}`, ""), "."), time.Time{}},
		{"four segments", compactJWS(alg, `{"exp":1700000000}`, "c2ln") + ".x", time.Time{}},
		{"opaque token", "ghp_0123456789abcdef", time.Time{}},
		{"empty", "", time.Time{}},
		{"only dots", "..", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jwtExpiry(tt.token); !got.Equal(tt.want) {
				t.Errorf("jwtExpiry = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzJWTExpiry checks that no token, however malformed, makes jwtExpiry
// panic or return a date outside NumericDate's range.
func FuzzJWTExpiry(f *testing.F) {
	for _, claims := range []string{`{"exp":1700000000}`, `{"exp":1e400}`, `{"exp":-1}`, `{"exp":"x"}`, `[]`} {
		f.Add(compactJWS(`{"alg":"none"}`, claims, ""))
	}
	f.Add("a.b.c")
	f.Add("....")
	f.Fuzz(func(t *testing.T, token string) {
		got := jwtExpiry(token)
		if !got.IsZero() && (got.Unix() <= 0 || got.Unix() > maxNumericDate) {
			t.Errorf("jwtExpiry = %v, outside (0, year 9999]", got)
		}
	})
}
