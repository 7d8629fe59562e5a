package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// decodeAWSEnvelope splits an envelope into its header bytes and claims,
// checking the envelope's shape (docs/sources.md, "aws"): three base64url
// segments without padding, the last one empty.
func decodeAWSEnvelope(t *testing.T, envelope string) (header string, claims awsEnvelopeClaims, rawClaims []byte) {
	t.Helper()
	parts := strings.Split(envelope, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("envelope has %d segments, want header.claims. with an empty third", len(parts))
	}
	if strings.ContainsAny(envelope, "=+/") {
		t.Fatal("envelope is not unpadded base64url")
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	rawClaims, err = base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("claims: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(rawClaims))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&claims); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return string(h), claims, rawClaims
}

// replayRequest rebuilds the request an envelope carries, as a registry
// replaying it to STS would.
func replayRequest(t *testing.T, sts stsRequest) *http.Request {
	t.Helper()
	req, err := http.NewRequest(sts.Method, sts.URL, strings.NewReader(sts.Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = sts.Headers.Clone()
	return req
}

// verifySigV4 checks r's SigV4 signature as STS does: it signs again, with
// creds, the method, URL, body and the headers r's Authorization lists in
// SignedHeaders, at r's X-Amz-Date, and compares the results.
func verifySigV4(r *http.Request, body []byte, creds aws.Credentials) error {
	auth := r.Header.Get("Authorization")
	scheme, params, ok := strings.Cut(auth, " ")
	if !ok || scheme != "AWS4-HMAC-SHA256" {
		return errors.New("not a SigV4 Authorization header")
	}
	fields := map[string]string{}
	for _, p := range strings.Split(params, ", ") {
		k, v, _ := strings.Cut(p, "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != creds.AccessKeyID || scope[4] != "aws4_request" {
		return fmt.Errorf("unexpected credential scope %q", fields["Credential"])
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	again, err := http.NewRequest(r.Method, "https://"+host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, name := range strings.Split(fields["SignedHeaders"], ";") {
		if name == "host" || name == "content-length" {
			continue // implied by the URL and the body
		}
		for _, v := range r.Header.Values(name) {
			again.Header.Add(name, v)
		}
	}
	// STS accepts a session token only with the keys it was issued with.
	if r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return errors.New("invalid session token")
	}
	// Sign without the session token: the signer would set its own, and
	// the one received is among the headers copied above.
	keys := aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), keys, again, hex.EncodeToString(sum[:]), scope[3], scope[2], signedAt); err != nil {
		return err
	}
	if again.Header.Get("Authorization") != auth {
		return errors.New("signature does not match")
	}
	return nil
}

func TestMintAWSEnvelope(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		name         string
		sessionToken string
		regionEnv    string
		configFile   string // contents of AWS_CONFIG_FILE
		audiences    []string
		wantRegion   string
	}{
		{name: "static keys, no region", audiences: []string{"reg.example.com"}, wantRegion: "us-east-1"},
		{name: "session token, region from env", sessionToken: "session-" + rand.Text(), regionEnv: "eu-west-1",
			audiences: []string{"reg.example.com"}, wantRegion: "eu-west-1"},
		{name: "region from the config file, two audiences", configFile: "[default]\nregion = ap-south-1\n",
			audiences: []string{"reg.example.com", "mirror.example.com"}, wantRegion: "ap-south-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateIdentity(t)
			creds := aws.Credentials{AccessKeyID: "AKIA" + rand.Text()[:16], SecretAccessKey: "secret-" + rand.Text(), SessionToken: tc.sessionToken}
			t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)
			t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
			if tc.sessionToken != "" {
				t.Setenv("AWS_SESSION_TOKEN", tc.sessionToken)
			}
			if tc.regionEnv != "" {
				t.Setenv("AWS_REGION", tc.regionEnv)
			}
			if tc.configFile != "" {
				path := filepath.Join(t.TempDir(), "config")
				if err := os.WriteFile(path, []byte(tc.configFile), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv("AWS_CONFIG_FILE", path)
			}

			envelope, expiresAt, err := mintToken(context.Background(), "aws", tc.audiences, true, now)
			if err != nil {
				checkNoSecrets(t, []string{creds.SecretAccessKey, creds.SessionToken}, "", nil, err.Error())
				t.Fatalf("mintToken: %v", err)
			}
			// The envelope carries the session token, as STS needs it, but
			// never the secret key, encoded or decoded.
			header, claims, rawClaims := decodeAWSEnvelope(t, envelope)
			checkNoSecrets(t, []string{creds.SecretAccessKey}, "", nil, envelope, string(rawClaims))
			if header != `{"alg":"none","typ":"aws-sigv4-getcalleridentity"}` {
				t.Errorf("header = %s", header)
			}
			if !slices.Equal(claims.Aud, tc.audiences) {
				t.Errorf("aud = %q, want %q", claims.Aud, tc.audiences)
			}
			if want := now.Add(120 * time.Second); claims.Exp != want.Unix() || !expiresAt.Equal(want) {
				t.Errorf("exp = %d, expiresAt = %v, want %v", claims.Exp, expiresAt, want)
			}
			sts := claims.STS
			if sts.Method != "POST" || sts.URL != "https://sts."+tc.wantRegion+".amazonaws.com/" || sts.Body != "Action=GetCallerIdentity&Version=2011-06-15" {
				t.Errorf("sts = %s %s %q", sts.Method, sts.URL, sts.Body)
			}

			// The headers are those sent, and only those: Host and
			// Content-Length are implied by the URL and the body.
			wantNames := []string{"Authorization", "Content-Type", "X-Amz-Date", "X-Audience"}
			if tc.sessionToken != "" {
				wantNames = append(wantNames, "X-Amz-Security-Token")
			}
			var names []string
			for name := range sts.Headers {
				names = append(names, name)
			}
			slices.Sort(names)
			slices.Sort(wantNames)
			if !slices.Equal(names, wantNames) {
				t.Errorf("header names = %q, want %q", names, wantNames)
			}
			if got := sts.Headers["Content-Type"]; !slices.Equal(got, []string{"application/x-www-form-urlencoded"}) {
				t.Errorf("Content-Type = %q", got)
			}
			if got := sts.Headers["X-Audience"]; !slices.Equal(got, tc.audiences) {
				t.Errorf("X-Audience = %q, want one value per audience %q", got, tc.audiences)
			}
			if got := sts.Headers["X-Amz-Date"]; !slices.Equal(got, []string{"20260304T050607Z"}) {
				t.Errorf("X-Amz-Date = %q", got)
			}
			if tc.sessionToken != "" && !slices.Equal(sts.Headers["X-Amz-Security-Token"], []string{tc.sessionToken}) {
				t.Error("X-Amz-Security-Token is not the session token")
			}
			auth := sts.Headers.Get("Authorization")
			wantScope := "AWS4-HMAC-SHA256 Credential=" + creds.AccessKeyID + "/20260304/" + tc.wantRegion + "/sts/aws4_request, "
			if !strings.HasPrefix(auth, wantScope) {
				t.Errorf("Authorization = %q, want it to start with %q", auth, wantScope)
			}
			signed := signedHeaders(sts.Headers["Authorization"])
			for _, name := range []string{"content-length", "content-type", "host", "x-amz-date", "x-audience"} {
				if !slices.Contains(signed, name) {
					t.Errorf("SignedHeaders %q lacks %s", signed, name)
				}
			}
			if tc.sessionToken != "" && !slices.Contains(signed, "x-amz-security-token") {
				t.Errorf("SignedHeaders %q lacks x-amz-security-token", signed)
			}

			// The decoded request carries a valid signature.
			if err := verifySigV4(replayRequest(t, sts), []byte(sts.Body), creds); err != nil {
				t.Errorf("signature of the decoded request: %v", err)
			}
		})
	}
}

// TestAWSEnvelopeReplay replays the decoded request to a fake STS that
// checks SigV4 as STS does, as a registry verifying the envelope would,
// then replays tampered copies: a signature covers the body and every
// audience, so none of them is accepted.
func TestAWSEnvelopeReplay(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret-" + rand.Text(), SessionToken: "session-" + rand.Text()}
	now := time.Now()
	envelope, _, err := signAWSEnvelope(context.Background(), creds, "eu-central-1", []string{"reg.example.com"}, now)
	checkNoSecrets(t, []string{creds.SecretAccessKey}, "", nil, envelope, fmt.Sprint(err))
	if err != nil {
		t.Fatal(err)
	}
	_, claims, _ := decodeAWSEnvelope(t, envelope)

	fakeSTS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Host != "sts.eu-central-1.amazonaws.com" || r.Method != http.MethodPost {
			http.Error(w, "wrong endpoint", http.StatusBadRequest)
			return
		}
		if err := verifySigV4(r, body, creds); err != nil {
			http.Error(w, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/ci/builder</Arn><UserId>AROAEXAMPLE:builder</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
	}))
	t.Cleanup(fakeSTS.Close)
	fakeURL, _ := url.Parse(fakeSTS.URL)

	replay := func(t *testing.T, sts stsRequest) int {
		t.Helper()
		req := replayRequest(t, sts)
		// Dial the fake, but present the request exactly as to STS.
		req.Host = req.URL.Host
		req.URL.Scheme, req.URL.Host = "http", fakeURL.Host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), "<Account>123456789012</Account>") {
			t.Errorf("STS answered %s", body)
		}
		return resp.StatusCode
	}

	t.Run("as minted", func(t *testing.T) {
		if code := replay(t, claims.STS); code != http.StatusOK {
			t.Errorf("replay answered %d, want 200", code)
		}
	})
	for _, tc := range []struct {
		name   string
		tamper func(*stsRequest)
	}{
		{"body changed", func(s *stsRequest) { s.Body = "Action=GetCallerIdentity&Version=2011-06-16" }},
		{"audience changed", func(s *stsRequest) { s.Headers["X-Audience"] = []string{"evil.example.com"} }},
		{"audience added", func(s *stsRequest) { s.Headers["X-Audience"] = append(s.Headers["X-Audience"], "evil.example.com") }},
		{"audience removed", func(s *stsRequest) { delete(s.Headers, "X-Audience") }},
		{"session token changed", func(s *stsRequest) { s.Headers["X-Amz-Security-Token"] = []string{"other"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts := claims.STS
			sts.Headers = sts.Headers.Clone()
			tc.tamper(&sts)
			if code := replay(t, sts); code != http.StatusForbidden {
				t.Errorf("replay answered %d, want 403", code)
			}
		})
	}
}

// TestSignAWSEnvelopeGolden pins the envelope's bytes for fixed
// credentials, region, audiences and time: key order, escaping and
// encoding included. Refresh with go test -update after checking the
// decoded difference.
func TestSignAWSEnvelopeGolden(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token-example"}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	envelope, _, err := signAWSEnvelope(context.Background(), creds, "us-east-1", []string{"reg.example.com", "mirror.example.com"}, now)
	checkNoSecrets(t, []string{creds.SecretAccessKey}, "", nil, envelope, fmt.Sprint(err))
	if err != nil {
		t.Fatal(err)
	}
	_, _, rawClaims := decodeAWSEnvelope(t, envelope)
	got := envelope + "\n" + string(rawClaims) + "\n"
	golden := filepath.Join("testdata", "mint", "aws-envelope.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("envelope differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestMintAWSEnvelopeNoCredentials(t *testing.T) {
	isolateIdentity(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := mintAWSEnvelope(ctx, []string{"reg.example.com"}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "retrieve AWS credentials") {
		t.Errorf("err = %v, want it to say no AWS credentials were found", err)
	}
	if ctx.Err() != nil {
		t.Error("gave up only at the deadline: the chain should fail fast with IMDS disabled")
	}
}
