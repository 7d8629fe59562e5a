package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeServiceAccountKey writes a service-account key file whose token_uri
// is tokenURI and returns its path and public key.
func writeServiceAccountKey(t *testing.T, tokenURI string) (string, *rsa.PublicKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "my-project",
		"private_key_id": "key-1",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "minter@my-project.iam.gserviceaccount.com",
		"client_id":      "1234567890",
		"token_uri":      tokenURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, &key.PublicKey
}

// writeUserCredentials writes the authorized_user ADC file `gcloud auth
// application-default login` leaves, with token_uri pointed at tokenURI.
func writeUserCredentials(t *testing.T, tokenURI, refreshToken string) string {
	t.Helper()
	data, err := json.Marshal(map[string]string{
		"type":          "authorized_user",
		"client_id":     "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",
		"client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
		"refresh_token": refreshToken,
		"token_uri":     tokenURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "application_default_credentials.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMintGCPIDTokenServiceAccount(t *testing.T) {
	isolateIdentity(t)
	idToken := unsignedJWT(t, map[string]any{"aud": "reg.example.com", "exp": time.Now().Add(time.Hour).Unix()})
	var rec recorder
	fake := &googleTokenFake{idToken: idToken, record: rec.record}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	path, pub := writeServiceAccountKey(t, srv.URL+"/token")
	fake.saKey = pub
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)

	got, expiresAt, err := mintToken(context.Background(), "gcp", []string{"reg.example.com"}, false, time.Now())
	checkNoSecrets(t, []string{idToken}, "", nil, fmt.Sprint(err))
	if err != nil {
		t.Fatalf("mintToken: %v", err)
	}
	if got != idToken {
		t.Error("returned token is not the ID token the endpoint issued")
	}
	if want := jwtExpiry(idToken); !expiresAt.Equal(want) {
		t.Errorf("expiresAt = %v, want the token's exp %v", expiresAt, want)
	}
	if lines := rec.get(); len(lines) != 1 || lines[0] != "reg.example.com" {
		t.Errorf("token endpoint saw target audiences %q, want [reg.example.com]", lines)
	}
}

func TestMintGCPIDTokenMetadata(t *testing.T) {
	isolateIdentity(t)
	idToken := unsignedJWT(t, map[string]any{"aud": "https://reg.example.com", "exp": time.Now().Add(time.Hour).Unix()})
	var rec recorder
	srv := httptest.NewServer(&gceMetadataFake{idToken: idToken, record: rec.record})
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))

	got, _, err := mintToken(context.Background(), "gcp", []string{"https://reg.example.com"}, true, time.Now())
	checkNoSecrets(t, []string{idToken}, "", nil, fmt.Sprint(err))
	if err != nil {
		t.Fatalf("mintToken: %v", err)
	}
	if got != idToken {
		t.Error("returned token is not the ID token the metadata server issued")
	}
	if lines := rec.get(); len(lines) != 1 || lines[0] != "https://reg.example.com" {
		t.Errorf("metadata server saw audiences %q", lines)
	}
}

func TestMintGCPIDTokenUserCredentials(t *testing.T) {
	refreshToken := "refresh-" + rand.Text()
	idToken := unsignedJWT(t, map[string]any{"aud": "764086051850.apps.googleusercontent.com", "exp": time.Now().Add(time.Hour).Unix()})
	for _, tc := range []struct {
		name        string
		audienceSet bool
		wantErr     string
	}{
		// gcloud's user credentials can only get an ID token for gcloud's
		// own OAuth client, so an explicit audience cannot be honoured.
		{name: "audience set", audienceSet: true, wantErr: `gcloud user credentials cannot mint an ID token for audience "reg.example.com": use a service account, or unset aud`},
		// With the audience defaulted, the user's own ID token is used.
		{name: "audience defaulted", audienceSet: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateIdentity(t)
			var rec recorder
			srv := httptest.NewServer(&googleTokenFake{refreshToken: refreshToken, idToken: idToken, record: rec.record})
			t.Cleanup(srv.Close)
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", writeUserCredentials(t, srv.URL+"/token", refreshToken))

			got, _, err := mintToken(context.Background(), "gcp", []string{"reg.example.com"}, tc.audienceSet, time.Now())
			checkNoSecrets(t, []string{refreshToken, idToken}, "", nil, fmt.Sprint(err))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
				if lines := rec.get(); len(lines) != 0 {
					t.Errorf("token endpoint was called: %q", lines)
				}
				return
			}
			if err != nil {
				t.Fatalf("mintToken: %v", err)
			}
			if got != idToken {
				t.Error("returned token is not the user's ID token")
			}
			if lines := rec.get(); len(lines) != 1 || lines[0] != "refresh_token" {
				t.Errorf("token endpoint saw %q, want one refresh", lines)
			}
		})
	}
}

func TestMintGCPIDTokenErrors(t *testing.T) {
	t.Run("no credentials", func(t *testing.T) {
		isolateIdentity(t)
		_, _, err := mintGCPIDToken(context.Background(), []string{"reg.example.com"}, false)
		if err == nil || !strings.Contains(err.Error(), `mint Google ID token for audience "reg.example.com"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("token endpoint fails", func(t *testing.T) {
		isolateIdentity(t)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":"invalid_grant","error_description":"account disabled"}`, http.StatusBadRequest)
		}))
		t.Cleanup(srv.Close)
		path, _ := writeServiceAccountKey(t, srv.URL+"/token")
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
		_, _, err := mintGCPIDToken(context.Background(), []string{"reg.example.com"}, false)
		if err == nil || !strings.Contains(err.Error(), "account disabled") {
			t.Errorf("err = %v, want the endpoint's answer", err)
		}
	})
	t.Run("no id_token for the user", func(t *testing.T) {
		isolateIdentity(t)
		refreshToken := "refresh-" + rand.Text()
		srv := httptest.NewServer(&googleTokenFake{refreshToken: refreshToken})
		t.Cleanup(srv.Close)
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", writeUserCredentials(t, srv.URL+"/token", refreshToken))
		_, _, err := mintGCPIDToken(context.Background(), []string{"reg.example.com"}, false)
		if err == nil || !strings.Contains(err.Error(), "no id_token") {
			t.Errorf("err = %v", err)
		}
		checkNoSecrets(t, []string{refreshToken}, "", nil, fmt.Sprint(err))
	})
	t.Run("token endpoint hangs", func(t *testing.T) {
		isolateIdentity(t)
		srv := hangingServer(t)
		path, _ := writeServiceAccountKey(t, srv.URL+"/token")
		t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
		checkPromptDeadline(t, func(ctx context.Context) (string, time.Time, error) {
			return mintGCPIDToken(ctx, []string{"reg.example.com"}, false)
		})
	})
	t.Run("metadata server hangs", func(t *testing.T) {
		isolateIdentity(t)
		srv := hangingServer(t)
		t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
		checkPromptDeadline(t, func(ctx context.Context) (string, time.Time, error) {
			return mintGCPIDToken(ctx, []string{"reg.example.com"}, false)
		})
	})
}
