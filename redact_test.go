package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// redactCmds are script commands for the rule of redact.go.
//
//	fake-echo-oidc REQUESTTOKEN
//	    an Actions ID token endpoint behind a proxy that refuses every
//	    request with 403 and a body echoing the request's headers, the
//	    request token among them; sets ACTIONS_ID_TOKEN_REQUEST_URL and
//	    ACTIONS_ID_TOKEN_REQUEST_TOKEN=REQUESTTOKEN.
var redactCmds = map[string]scriptCmd{
	"fake-echo-oidc": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: fake-echo-oidc REQUESTTOKEN")
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			// What a debugging proxy prints: the raw header, and the
			// value again, on its own, inside JSON.
			fmt.Fprintf(w, "proxy refused GET %s\nAuthorization: %s\n", r.URL.Path, r.Header.Get("Authorization"))
			_, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			fmt.Fprintf(w, `{"seen": %q}`+"\n", value)
		}))
		ts.Defer(srv.Close)
		ts.Setenv(envActionsRequestURL, srv.URL+"/idtoken?api-version=2.0")
		ts.Setenv(envActionsRequestToken, args[0])
	},
}

// TestRedactForeign pins what third-party text keeps and loses: each case
// declares its secrets, none of which may survive, and what must stay.
func TestRedactForeign(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
	environ := []string{
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=ambient-request-token-1",
		"ACTIONS_ID_TOKEN_REQUEST_URL=http://127.0.0.1:1/idtoken",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN=FwoGZXIvYXdzEBYaDAMBIENTSESSION",
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"GH_TOKEN=ghp_short",
		"FLAG_TOKEN=1",
	}
	for _, tc := range []struct {
		name    string
		text    string
		secrets []string
		keep    []string
	}{
		{"aws process output",
			`process provider error: parse failed of process output: {"SecretAccessKey":"process-key-123","SessionToken":"process-session-456"}; , error: parsing time "2026-01-01T00:00:00"`,
			[]string{"process-key-123", "process-session-456"},
			[]string{"process provider error: parse failed of process output: [redacted], error: parsing time"}},
		{"google executable response",
			`oauth2/google/externalaccount: unable to parse response; Response: junk; {"id_token":"` + jwt + `"}`,
			[]string{jwt, "junk"},
			[]string{"unable to parse response; Response: [redacted]"}},
		{"google response with an error-like line",
			`unable to parse response; Response: junk, error: leaked-after-marker`,
			[]string{"leaked-after-marker"},
			[]string{"Response: [redacted]"}},
		{"json key fields",
			`400: {"error":"invalid_client","client_secret":"cs-xyz-987","refresh_token":"rt\"quoted-654"}`,
			[]string{"cs-xyz-987", "quoted-654"},
			[]string{`"error":"invalid_client"`, `"client_secret":"[redacted]"`}},
		{"authorization header", "echo: Authorization: Bearer opaque-bearer-value", []string{"opaque-bearer-value"}, []string{"Authorization: Bearer [redacted]"}},
		{"jwt anywhere", "got token " + jwt + " back", []string{jwt, "c2lnbmF0dXJl"}, []string{"got token [redacted] back"}},
		{"pem block", "key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY----- end", []string{"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}, []string{"key: [redacted] end"}},
		{"cut pem block", "key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB", []string{"MHcCAQEEIB"}, []string{"key: [redacted]"}},
		{"hex run", "digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 differs", []string{"9f86d081884c7d65"}, []string{"digest [redacted] differs"}},
		{"base64 run", "key Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5 refused", []string{"Zm9vYmFyYmF6cXV4"}, []string{"key [redacted] refused"}},
		{"ambient secrets", "sent ambient-request-token-1 and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and FwoGZXIvYXdzEBYaDAMBIENTSESSION",
			[]string{"ambient-request-token-1", "wJalrXUtnFEMI", "FwoGZXIvYXdz"}, []string{"sent [redacted] and [redacted] and [redacted]"}},
		{"ambient secret base64", "echo " + base64.StdEncoding.EncodeToString([]byte("bearer ambient-request-token-1")),
			[]string{base64.StdEncoding.EncodeToString([]byte("ambient-request-token-1"))[4:20]}, []string{"echo "}},
		{"ordinary text stays",
			`Get "http://127.0.0.1:1/idtoken": dial tcp 127.0.0.1:1: connect: connection refused (AKIAIOSFODNN7EXAMPLE, 1 attempt)`,
			nil,
			[]string{`Get "http://127.0.0.1:1/idtoken": dial tcp 127.0.0.1:1: connect: connection refused (AKIAIOSFODNN7EXAMPLE, 1 attempt)`}},
		{"paths and hosts stay",
			"open /work/wt/h12-secrets/testdata/script/config.yaml: no such file; host 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
			nil,
			[]string{"/work/wt/h12-secrets/testdata/script/config.yaml", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"}},
		{"uuids stay", "tenant 72f988bf-86f1-41af-91ab-2d7cd011db47, request 00000000-0000-0000-0000-000000000000", nil,
			[]string{"tenant 72f988bf-86f1-41af-91ab-2d7cd011db47, request 00000000-0000-0000-0000-000000000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := redactForeign(tc.text, environ)
			checkNoSecrets(t, tc.secrets, "", nil, got)
			for _, k := range tc.keep {
				if !strings.Contains(got, k) {
					t.Errorf("redactForeign = %q, want it to keep %q", got, k)
				}
			}
		})
	}
}

// TestEchoesSecret pins which helper or template messages count as an
// echo of the secret: any shared run of 8 bytes of it, of its
// JSON-escaped form, its base64 (from any offset) or its hex.
func TestEchoesSecret(t *testing.T) {
	const secret = `pa"ss-w0rd-long-enough`
	stdin := `{"ServerURL":"reg.example.com","Username":"robot","Secret":"pa\"ss-w0rd-long-enough"}`
	for _, tc := range []struct {
		name string
		text string
		want bool
	}{
		{"whole secret", "bad: " + secret, true},
		{"json-escaped", `bad: pa\"ss-w0rd`, true},
		{"prefix of stdin", "cannot parse " + stdin[:70], true},
		{"8-byte slice", "near w0rd-lon here", true},
		{"base64 of stdin", "got " + base64.StdEncoding.EncodeToString([]byte(stdin)), true},
		{"base64 of stdin from another offset", "got " + base64.StdEncoding.EncodeToString([]byte(" "+stdin)), true},
		{"hex of secret", fmt.Sprintf("got %x", secret), true},
		{"7-byte slice", "near w0rd-lo here", false},
		{"own message", "keychain is locked", false},
		{"only the server URL", "no entry for reg.example.com", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := echoesSecret(tc.text, secret); got != tc.want {
				t.Errorf("echoesSecret = %v, want %v", got, tc.want)
			}
		})
	}
	if !echoesSecret("it is abc!", "abc!") || echoesSecret("it is ab", "abc!") {
		t.Error("a secret shorter than 8 bytes must be matched whole")
	}
}

// TestYAMLErrorText pins that a YAML error keeps its line and drops the
// values it quotes, for each error yaml.v2 quotes one in (a tag error has
// no line in yaml.v2).
func TestYAMLErrorText(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want, secret string
	}{
		{"unknown anchor", "a: 1\nb: 2\nvalue: *s3cr3tanchor\n", "parse config: yaml: unknown anchor referenced", "s3cr3tanchor"},
		{"int tag", "a:\n  value: !!int s3cr3t-int-value\n", "parse config: yaml: cannot decode !!str as a !!int", "s3cr3t-int-value"},
		{"float tag", "value: !!float s3cr3t-float\n", "parse config: yaml: cannot decode !!str as a !!float", "s3cr3t-float"},
		{"complex key", "? [s3cr3t-key-value, b]\n: c\n", "parse config: yaml: invalid map key (a key must be a scalar)", "s3cr3t-key-value"},
		{"complex mapping key", "? {value: s3cr3t-map-key}\n: c\n", "parse config: yaml: invalid map key (a key must be a scalar)", "s3cr3t-map-key"},
		{"punctuation stays", "hosts: [{host: r.example, credential: {value: x}\n", "line 1: did not find expected ',' or '}'", "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseYAML([]byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			checkNoSecrets(t, []string{tc.secret}, "", nil, err.Error())
			if err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}
