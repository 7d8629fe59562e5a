package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	v1beta1Header = "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\n"
	v1beta2Header = "apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\n"
	ecrHost       = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
)

// parseDoc decodes doc with env as the whole environment; path fields are
// relative to dir.
func parseDoc(dir, doc string, env map[string]string) (*config, error) {
	return parseConfig([]byte(doc), dir, func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
}

// TestConfigErrors pins every message a bad config can produce, one row
// each, in full: users grep for them and the docs quote them.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		// The document.
		{"bad YAML", v1beta1Header + "hosts: [", "line 3: did not find expected node content"},
		{"duplicate key", v1beta1Header + "hosts:\n- host: r.example\n  credential:\n    value: a\n    value: b\n",
			"parse config: yaml: unmarshal errors:\n  line 7: key already set in map"},
		{"two documents", v1beta1Header + "hosts: []\n---\n" + v1beta1Header, "parse config: want one YAML document, found more"},
		{"not a mapping", "- host: r.example\n", "config must be a mapping, not a list"},
		{"empty", "", "the config is empty; a config starts with:\n    apiVersion: mirror.plugin.fluxcd.io/v1beta2\n    kind: Config\n    hosts:\n      - host: ghcr.io\n        credential:\n          type: jwt\n          username: flux\n          value: ${GH_TOKEN}"},
		{"only a comment", "# hosts\n", "the config is empty; a config starts with:\n    apiVersion: mirror.plugin.fluxcd.io/v1beta2\n    kind: Config\n    hosts:\n      - host: ghcr.io\n        credential:\n          type: jwt\n          username: flux\n          value: ${GH_TOKEN}"},
		{"no header", "hosts: [{host: r.example, credential: {type: jwt, value: x}}]", "apiVersion and kind are missing; add these two lines at the top of the file:\n    apiVersion: mirror.plugin.fluxcd.io/v1beta2\n    kind: Config"},
		{"no header, v1beta1 fields", "hosts: [{host: r.example, username: u, credential: {value: x}}]", "apiVersion and kind are missing; add these two lines at the top of the file:\n    apiVersion: mirror.plugin.fluxcd.io/v1beta1\n    kind: Config"},
		{"no apiVersion", "kind: Config\nhosts: []\n", "apiVersion is missing; add this line at the top of the file:\n    apiVersion: mirror.plugin.fluxcd.io/v1beta2"},
		{"old apiVersion", "apiVersion: mirror.fluxcd.io/v1beta1\nkind: Config\n",
			`apiVersion must be "mirror.plugin.fluxcd.io/v1beta1" or "mirror.plugin.fluxcd.io/v1beta2", got "mirror.fluxcd.io/v1beta1"`},
		{"apiVersion number", "apiVersion: 1\n", "apiVersion must be a string, not a number"},
		{"kind", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Configuration\n", `kind must be "Config", got "Configuration"`},
		{"no kind", "apiVersion: mirror.plugin.fluxcd.io/v1beta2\n", "kind is missing; add this line below apiVersion:\n    kind: Config"},
		{"unknown top-level key", v1beta1Header + "host: []\n", `unknown field "host"; did you mean "hosts"?`},
		{"hosts not a list", v1beta1Header + "hosts: {host: r.example}\n", "hosts must be a list, not a mapping"},
		{"null key", v1beta1Header + "hosts:\n- ~: x\n", "parse config: a key must be a string, a number or a boolean"},

		// v1beta1 hosts[].
		{"unknown host key", v1beta1Header + "hosts: [{host: r.example, crendential: {value: x}}]", `hosts[0]: unknown field "crendential"; did you mean "credential"?`},
		{"misspelt credential", v1beta2Header + "hosts: [{host: r.example, credentails: {type: jwt, value: x}}]", `hosts[0]: unknown field "credentails"; did you mean "credential"?`},
		{"key in another case", v1beta1Header + "hosts: [{Host: r.example, credential: {value: x}}]", `hosts[0]: unknown field "Host"; did you mean "host"?`},
		{"host missing", v1beta1Header + "hosts: [{credential: {value: x}}]", "hosts[0]: host is required"},
		{"host not a string", v1beta1Header + "hosts: [{host: 5000, credential: {value: x}}]", "hosts[0]: host must be a string, not a number: quote the value, as in \"0123\" (YAML 1.1 reads 0123 as the octal number 83)"},
		// Of several mistakes in one mapping, the first key in sorted order
		// is reported, known or not.
		{"two wrong types", v1beta1Header + "hosts: [{host: 5000, credential: 1}]", "hosts[0]: credential must be a mapping, not a number"},
		{"wrong type before unknown key", v1beta1Header + "hosts: [{zz: 1, host: 5000, credential: {value: x}}]", "hosts[0]: host must be a string, not a number: quote the value, as in \"0123\" (YAML 1.1 reads 0123 as the octal number 83)"},
		{"unknown key before wrong type", v1beta1Header + "hosts: [{host: 5000, aa: 1, credential: {value: x}}]", `hosts[0]: unknown field "aa"`},
		{"host with scheme", v1beta1Header + "hosts: [{host: 'https://r.example', credential: {value: x}}]",
			`hosts[0]: host "https://r.example" must be host[:port], without a scheme`},
		{"host with path", v1beta1Header + "hosts: [{host: r.example/team, credential: {value: x}}]",
			`hosts[0]: host "r.example/team" must be host[:port], without a path`},
		{"host twice", v1beta1Header + "hosts: [{host: a.example, maxChunkSize: 0}, {host: r.example, maxChunkSize: 0}, {host: r.example, credential: {value: x}}]",
			`hosts[2]: host "r.example" is configured more than once`},
		{"username without credential", v1beta1Header + "hosts: [{host: r.example, username: robot, maxChunkSize: 0}]",
			"hosts[0]: username can only be set with credential"},
		{"unknown provider", v1beta1Header + "hosts: [{host: r.example, provider: gcr}]", `hosts[0]: provider "gcr" must be one of: ecr, acr, gar`},
		{"generic is v1beta2", v1beta1Header + "hosts: [{host: r.example, provider: generic, maxChunkSize: 0}]",
			`hosts[0]: provider "generic" must be one of: ecr, acr, gar`},
		{"provider padded", v1beta1Header + "hosts: [{host: r.example, provider: ' ecr '}]", `hosts[0]: provider " ecr " must be one of: ecr, acr, gar`},
		{"credential and provider", v1beta1Header + "hosts: [{host: " + ecrHost + ", provider: ecr, credential: {value: x}}]",
			"hosts[0]: credential and provider are mutually exclusive"},
		{"provider and tls", v1beta1Header + "hosts: [{host: " + ecrHost + ", provider: ecr, tls: {serverAuth: {value: pem}}}]",
			"hosts[0]: provider and tls are mutually exclusive"},
		{"nothing configured", v1beta1Header + "hosts: [{host: r.example}]", "hosts[0]: one of credential, provider, tls, or maxChunkSize is required"},
		{"null credential", v1beta1Header + "hosts: [{host: r.example, credential: }]", "hosts[0]: one of credential, provider, tls, or maxChunkSize is required"},
		{"negative maxChunkSize", v1beta1Header + "hosts: [{host: r.example, maxChunkSize: -1}]", "hosts[0]: maxChunkSize must be >= 0 (0 disables chunking)"},
		{"fractional maxChunkSize", v1beta1Header + "hosts: [{host: r.example, maxChunkSize: 1.5}]", "hosts[0]: maxChunkSize must be an integer"},
		{"quoted insecure", v1beta1Header + "hosts: [{host: r.example, insecure: 'true', credential: {value: x}}]", "hosts[0]: insecure must be true or false, not a string"},
		{"quoted maxChunkSize", v1beta1Header + "hosts: [{host: r.example, maxChunkSize: '64'}]", "hosts[0]: maxChunkSize must be an integer, not a string"},

		// v1beta1 credential.
		{"unknown credential key", v1beta1Header + "hosts: [{host: r.example, credential: {value: x, usrname: robot}}]",
			`hosts[0]: credential: unknown field "usrname"`},
		{"no source", v1beta1Header + "hosts: [{host: r.example, credential: {}}]",
			"hosts[0]: credential: exactly one of provider, value, fromPath, jwkPath, or jwkValue must be set"},
		{"empty value", v1beta1Header + "hosts: [{host: r.example, credential: {value: ''}}]",
			"hosts[0]: credential: exactly one of provider, value, fromPath, jwkPath, or jwkValue must be set"},
		{"two sources", v1beta1Header + "hosts: [{host: r.example, credential: {value: x, fromPath: token}}]",
			"hosts[0]: credential: exactly one of provider, value, fromPath, jwkPath, or jwkValue must be set"},
		{"unknown credential provider", v1beta1Header + "hosts: [{host: r.example, credential: {provider: gitlab}}]",
			`hosts[0]: credential: provider "gitlab" must be one of: github, forgejo, gcp, azure, aws, jwt-svid, kubelet`},
		{"spiffe is v1beta2", v1beta1Header + "hosts: [{host: r.example, credential: {provider: spiffe}}]",
			`hosts[0]: credential: provider "spiffe" must be one of: github, forgejo, gcp, azure, aws, jwt-svid, kubelet`},
		{"jwk without iss", v1beta1Header + "hosts: [{host: r.example, credential: {jwkValue: k, sub: s}}]",
			"hosts[0]: credential: iss is required with jwkPath or jwkValue"},
		{"jwk without sub", v1beta1Header + "hosts: [{host: r.example, credential: {jwkPath: k.json, iss: i}}]",
			"hosts[0]: credential: sub is required with jwkPath or jwkValue"},
		{"iss without jwk", v1beta1Header + "hosts: [{host: r.example, credential: {provider: github, iss: i}}]",
			"hosts[0]: credential: iss and sub can only be set with jwkPath or jwkValue"},
		{"aud with value", v1beta1Header + "hosts: [{host: r.example, credential: {value: x, aud: a}}]",
			"hosts[0]: credential: aud can only be set with jwkPath, jwkValue, or provider"},
		{"aud as a list", v1beta1Header + "hosts: [{host: r.example, credential: {provider: aws, aud: [a, b]}}]",
			"hosts[0]: credential: aud must be a string, not a list"},
		{"exp with provider", v1beta1Header + "hosts: [{host: r.example, credential: {provider: github, exp: 1h}}]",
			"hosts[0]: credential: exp can only be set with jwkPath or jwkValue"},
		{"exp not a duration", v1beta1Header + "hosts: [{host: r.example, credential: {jwkValue: k, iss: i, sub: s, exp: soon}}]",
			`hosts[0]: credential: exp: invalid duration "soon", want a Go duration such as 60s, 10m or 1h`},
		{"exp zero", v1beta1Header + "hosts: [{host: r.example, credential: {jwkValue: k, iss: i, sub: s, exp: 0s}}]",
			"hosts[0]: credential: exp must be a positive duration"},
		{"exp negative", v1beta1Header + "hosts: [{host: r.example, credential: {jwkValue: k, iss: i, sub: s, exp: -1m}}]",
			"hosts[0]: credential: exp must be a positive duration"},
		{"envelope does not parse", v1beta1Header + "hosts: [{host: r.example, credential: {value: x, envelope: '{{ .Token'}}]",
			"hosts[0]: credential: parse envelope: template: envelope:1: unclosed action"},
		{"envelope does not render", v1beta1Header + "hosts: [{host: r.example, credential: {value: x, envelope: '{{ .Nope }}'}}]",
			`hosts[0]: credential: render envelope: template: envelope:1:3: executing "envelope" at <.Nope>: can't evaluate field Nope in type struct { Token string }`},
		{"envelope renders nothing", v1beta1Header + "hosts: [{host: r.example, credential: {value: x, envelope: '{{/* x */}}'}}]",
			"hosts[0]: credential: render envelope: the result is empty"},

		// v1beta1 tls.
		{"tls empty", v1beta1Header + "hosts: [{host: r.example, tls: {}}]", "hosts[0]: tls: one of serverAuth or clientAuth is required"},
		{"tls unknown key", v1beta1Header + "hosts: [{host: r.example, tls: {serverAuth: {fromPath: ca.pem, insecure: true}}}]",
			`hosts[0]: tls: serverAuth: unknown field "insecure"`},
		{"serverAuth neither", v1beta1Header + "hosts: [{host: r.example, tls: {serverAuth: {}}}]",
			"hosts[0]: tls: serverAuth: exactly one of fromPath or value must be set"},
		{"serverAuth both", v1beta1Header + "hosts: [{host: r.example, tls: {serverAuth: {fromPath: ca.pem, value: pem}}}]",
			"hosts[0]: tls: serverAuth: exactly one of fromPath or value must be set"},
		{"serverAuth spiffe and value", v1beta1Header + "hosts: [{host: r.example, tls: {serverAuth: {value: pem, spiffe: {trustDomain: example.org}}}}]",
			"hosts[0]: tls: serverAuth: fromPath and value are not allowed with spiffe"},
		{"spiffe no authorizer", v1beta1Header + "hosts: [{host: r.example, tls: {serverAuth: {spiffe: {}}}}]",
			"hosts[0]: tls: serverAuth: spiffe: exactly one of serverID, trustDomain, or authorizeAny must be set"},
		{"spiffe two authorizers", v1beta1Header + "hosts: [{host: r.example, tls: {serverAuth: {spiffe: {trustDomain: example.org, authorizeAny: true}}}}]",
			"hosts[0]: tls: serverAuth: spiffe: exactly one of serverID, trustDomain, or authorizeAny must be set"},
		{"spiffe bad serverID", v1beta1Header + "hosts: [{host: r.example, tls: {serverAuth: {spiffe: {serverID: 'https://example.org/x'}}}}]",
			`hosts[0]: tls: serverAuth: spiffe: serverID "https://example.org/x" is not a valid SPIFFE ID: scheme is missing or invalid`},
		{"spiffe bad trustDomain", v1beta1Header + "hosts: [{host: r.example, tls: {serverAuth: {spiffe: {trustDomain: Example.ORG}}}}]",
			`hosts[0]: tls: serverAuth: spiffe: trustDomain "Example.ORG" is not valid: trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores`},
		{"clientAuth other provider", v1beta1Header + "hosts: [{host: r.example, tls: {clientAuth: {provider: spiffe}}}]",
			`hosts[0]: tls: clientAuth: provider "spiffe" must be "x509-svid"`},
		{"clientAuth svid with key", v1beta1Header + "hosts: [{host: r.example, tls: {clientAuth: {provider: x509-svid, key: {value: k}}}}]",
			`hosts[0]: tls: clientAuth: certificate and key are not allowed with provider "x509-svid"`},
		{"clientAuth no certificate", v1beta1Header + "hosts: [{host: r.example, tls: {clientAuth: {key: {value: k}}}}]",
			"hosts[0]: tls: clientAuth: certificate is required"},
		{"clientAuth no key", v1beta1Header + "hosts: [{host: r.example, tls: {clientAuth: {certificate: {value: c}}}}]",
			"hosts[0]: tls: clientAuth: key is required"},
		{"clientAuth certificate both", v1beta1Header + "hosts: [{host: r.example, tls: {clientAuth: {certificate: {value: c, fromPath: c.pem}, key: {value: k}}}}]",
			"hosts[0]: tls: clientAuth: certificate: exactly one of fromPath or value must be set"},
		{"clientAuth key neither", v1beta1Header + "hosts: [{host: r.example, tls: {clientAuth: {certificate: {value: c}, key: {}}}}]",
			"hosts[0]: tls: clientAuth: key: exactly one of fromPath or value must be set"},

		// v1beta2: the same rules, spelled the v1beta2 way, and its own.
		{"v2 host-level username", v1beta2Header + "hosts: [{host: r.example, username: robot, credential: {type: jwt, value: x}}]",
			`hosts[0]: unknown field "username": in v1beta2 the username moved to credential.username`},
		{"v2 iss", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, jwkValue: k, iss: i, subject: s}}]",
			`hosts[0]: credential: unknown field "iss": in v1beta2 "iss" is "issuer"`},
		{"v1 issuer", v1beta1Header + "hosts: [{host: r.example, credential: {jwkValue: k, issuer: i, sub: s}}]",
			`hosts[0]: credential: unknown field "issuer": in v1beta1 "issuer" is "iss" (or set apiVersion: mirror.plugin.fluxcd.io/v1beta2)`},
		{"v2 yes as a username", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, username: yes, value: x}}]",
			`hosts[0]: credential: username must be a string, not a boolean: YAML 1.1 reads y, yes, on, true, n, no, off and false as booleans; quote the value, as in "yes"`},
		{"v2 y as a username", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, username: y, value: x}}]",
			`hosts[0]: credential: username must be a string, not a boolean: YAML 1.1 reads y, yes, on, true, n, no, off and false as booleans; quote the value, as in "yes"`},
		{"v2 0123 as a value", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, username: u, value: 0123}}]",
			`hosts[0]: credential: value must be a string, not a number: quote the value, as in "0123" (YAML 1.1 reads 0123 as the octal number 83)`},
		{"v2 type missing", v1beta2Header + "hosts: [{host: r.example, credential: {value: x}}]", "hosts[0]: credential: type is required"},
		{"v2 type wrong", v1beta2Header + "hosts: [{host: r.example, credential: {type: oidc, value: x}}]", `hosts[0]: credential: type "oidc" must be "jwt"`},
		{"v2 no source", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, username: robot}}]",
			"hosts[0]: credential: exactly one of provider, value, fromPath, jwkPath, or jwkValue must be set"},
		{"v2 jwt-svid", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: jwt-svid}}]",
			`hosts[0]: credential: provider "jwt-svid" must be one of: github, forgejo, gcp, azure, aws, spiffe, kubelet`},
		{"v2 jwk without issuer", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, jwkValue: k, subject: s}}]",
			"hosts[0]: credential: issuer is required with jwkPath or jwkValue"},
		{"v2 jwk without subject", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, jwkValue: k, issuer: i}}]",
			"hosts[0]: credential: subject is required with jwkPath or jwkValue"},
		{"v2 subject with value", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, value: x, subject: s}}]",
			"hosts[0]: credential: issuer and subject can only be set with jwkPath or jwkValue"},
		{"v2 audiences with fromPath", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, fromPath: token, audiences: [a]}}]",
			"hosts[0]: credential: audiences can only be set with jwkPath, jwkValue, or provider"},
		{"v2 audiences not a list", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: aws, audiences: a}}]",
			"hosts[0]: credential: audiences must be a list, not a string"},
		{"v2 empty audience", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: aws, audiences: [a, '']}}]",
			"hosts[0]: credential: audiences[1] must not be empty"},
		{"v2 gcp two audiences", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: gcp, audiences: [a, b]}}]",
			`hosts[0]: credential: provider "gcp" accepts at most one audience`},
		{"v2 azure two audiences", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: azure, audiences: [a, b]}}]",
			`hosts[0]: credential: provider "azure" accepts at most one audience`},
		{"v2 kubelet two audiences", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: kubelet, audiences: [a, b]}}]",
			`hosts[0]: credential: provider "kubelet" accepts at most one audience`},
		{"v2 expiration with provider", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: github, expiration: 1h}}]",
			"hosts[0]: credential: expiration can only be set with jwkPath or jwkValue"},
		{"v2 expiration not a duration", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, jwkValue: k, issuer: i, subject: s, expiration: 1x}}]",
			`hosts[0]: credential: expiration: invalid duration "1x", want a Go duration such as 60s, 10m or 1h`},
		{"v2 expiration number", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, jwkValue: k, issuer: i, subject: s, expiration: 60}}]",
			`hosts[0]: credential: expiration must be a string, not a number: write a duration with its unit, as in "60s" for 60 seconds`},
		{"v2 expiration zero", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, jwkValue: k, issuer: i, subject: s, expiration: 0s}}]",
			"hosts[0]: credential: expiration must be a positive duration"},
		{"v2 unknown provider", v1beta2Header + "hosts: [{host: r.example, provider: gcr}]", `hosts[0]: provider "gcr" must be one of: generic, ecr, acr, gar`},
		{"v2 generic alone", v1beta2Header + "hosts: [{host: r.example, provider: generic}]",
			"hosts[0]: one of credential, a cloud provider, tls, or maxChunkSize is required"},
		{"v2 credential and provider", v1beta2Header + "hosts: [{host: " + ecrHost + ", provider: ecr, credential: {type: jwt, value: x}}]",
			"hosts[0]: credential and provider are mutually exclusive"},
		{"v2 spiffe without provider", v1beta2Header + "hosts: [{host: r.example, tls: {serverAuth: {spiffe: {trustDomain: example.org}}}}]",
			`hosts[0]: tls: serverAuth: spiffe requires provider "spiffe"`},
		{"v2 provider without spiffe", v1beta2Header + "hosts: [{host: r.example, tls: {serverAuth: {provider: spiffe}}}]",
			`hosts[0]: tls: serverAuth: spiffe is required with provider "spiffe"`},
		{"v2 serverAuth x509-svid", v1beta2Header + "hosts: [{host: r.example, tls: {serverAuth: {provider: x509-svid, value: pem}}}]",
			`hosts[0]: tls: serverAuth: provider "x509-svid" must be "spiffe"`},
		{"v2 authorizeAny", v1beta2Header + "hosts: [{host: r.example, tls: {serverAuth: {provider: spiffe, spiffe: {authorizeAny: true}}}}]",
			`hosts[0]: tls: serverAuth: spiffe: unknown field "authorizeAny": v1beta2 has no "authorizeAny"; set serverID or trustDomain`},
		{"v2 spiffe no authorizer", v1beta2Header + "hosts: [{host: r.example, tls: {serverAuth: {provider: spiffe, spiffe: {}}}}]",
			"hosts[0]: tls: serverAuth: spiffe: exactly one of serverID or trustDomain must be set"},
		{"v2 clientAuth x509-svid", v1beta2Header + "hosts: [{host: r.example, tls: {clientAuth: {provider: x509-svid}}}]",
			`hosts[0]: tls: clientAuth: provider "x509-svid" must be "spiffe"`},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseDoc(dir, tt.doc, nil)
			if err == nil {
				t.Fatalf("loaded %+v, want error %q", cfg, tt.want)
			}
			if cfg != nil {
				t.Errorf("returned a config with the error")
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %q\nwant %q", err, tt.want)
			}
		})
	}
}

// TestConfigModel checks what valid configs load to.
func TestConfigModel(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		doc  string
		want []hostConfig
	}{
		{"bearer value", v1beta1Header + "hosts: [{host: r.example, credential: {value: tok}}]",
			[]hostConfig{{Host: "r.example", Credential: &credentialConfig{Value: "tok"}}}},
		{"username", v1beta1Header + "hosts: [{host: 'r.example:5000', username: robot, credential: {fromPath: ./token}}]",
			[]hostConfig{{Host: "r.example:5000", Username: "robot", Credential: &credentialConfig{FromPath: "./token"}}}},
		{"jwk with claims", v1beta1Header + "hosts: [{host: r.example, credential: {jwkPath: keys/priv.json, iss: i, sub: s, aud: a, exp: 90s, envelope: 'Bearer {{ .Token }}'}}]",
			[]hostConfig{{Host: "r.example", Credential: &credentialConfig{
				JWKPath: "keys/priv.json", Issuer: "i", Subject: "s", Audiences: []string{"a"}, Expiration: 90 * time.Second, Envelope: "Bearer {{ .Token }}"}}}},
		{"jwt-svid", v1beta1Header + "hosts: [{host: r.example, credential: {provider: jwt-svid}}]",
			[]hostConfig{{Host: "r.example", Credential: &credentialConfig{Provider: "jwt-svid"}}}},
		{"v2 spiffe is jwt-svid", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: spiffe, audiences: [a, b]}}]",
			[]hostConfig{{Host: "r.example", Credential: &credentialConfig{Provider: "jwt-svid", Audiences: []string{"a", "b"}}}}},
		{"v2 empty audiences list", v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: aws, audiences: []}}]",
			[]hostConfig{{Host: "r.example", Credential: &credentialConfig{Provider: "aws"}}}},
		{"v2 generic with credential", v1beta2Header + "hosts: [{host: r.example, provider: generic, credential: {type: jwt, username: robot, value: tok}}]",
			[]hostConfig{{Host: "r.example", Username: "robot", Credential: &credentialConfig{Value: "tok"}}}},
		{"insecure", v1beta1Header + "hosts: [{host: '10.0.0.5:5000', insecure: true, username: robot, credential: {value: tok}}, {host: r.example, insecure: false, credential: {value: tok}}]",
			[]hostConfig{{Host: "10.0.0.5:5000", Insecure: true, Username: "robot", Credential: &credentialConfig{Value: "tok"}}, {Host: "r.example", Credential: &credentialConfig{Value: "tok"}}}},
		{"v2 insecure", v1beta2Header + "hosts: [{host: '10.0.0.5:5000', insecure: true, credential: {type: jwt, value: tok}}]",
			[]hostConfig{{Host: "10.0.0.5:5000", Insecure: true, Credential: &credentialConfig{Value: "tok"}}}},
		{"cloud provider", v1beta1Header + "hosts: [{host: " + ecrHost + ", provider: ecr}]",
			[]hostConfig{{Host: ecrHost, Provider: "ecr"}}},
		{"tls and maxChunkSize only", v1beta1Header + `hosts:
- host: tls.example
  tls:
    serverAuth: {value: dummy, }
    clientAuth: {certificate: {fromPath: c.pem}, key: {fromPath: k.pem}}
- host: spiffe.example
  tls: {serverAuth: {spiffe: {authorizeAny: true}}, clientAuth: {provider: x509-svid}}
- host: chunk.example
  maxChunkSize: 0
`, []hostConfig{{Host: "tls.example"}, {Host: "spiffe.example"}, {Host: "chunk.example"}}},
		{"artifacts and charts kept uninterpreted", v1beta2Header + `hosts: [{host: r.example, credential: {type: jwt, value: tok}}]
artifacts: [{anything: {goes: [1, 2]}}]
charts: whatever
`, []hostConfig{{Host: "r.example", Credential: &credentialConfig{Value: "tok"}}}},
		{"no hosts", v1beta1Header + "artifacts: []\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseDoc(dir, tt.doc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Hosts, tt.want) {
				t.Errorf("hosts:\n got %s\nwant %s", dumpHosts(cfg.Hosts), dumpHosts(tt.want))
			}
			if cfg.dir != dir {
				t.Errorf("dir = %q, want %q", cfg.dir, dir)
			}
		})
	}
}

// dumpHosts prints hosts with their credential blocks for a failure
// message. Only test configs reach it: they hold no real secret.
func dumpHosts(hosts []hostConfig) string {
	var b strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&b, "\n\t%+v", h)
		if h.Credential != nil {
			fmt.Fprintf(&b, " credential %+v", *h.Credential)
		}
	}
	return b.String()
}

// TestConfigVersionsTwin checks that a v1beta2 file and its v1beta1 twin,
// written the way flux-mirror's migration maps one to the other, load to
// the same model.
func TestConfigVersionsTwin(t *testing.T) {
	dir := filepath.Join("testdata", "config")
	env := map[string]string{"REGISTRY_TOKEN": "static-token-value", "REGISTRY_JWK": `{"kty":"OKP"}`}
	load := func(name string) *config {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := parseConfig(data, dir, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return cfg
	}
	v1, v2 := load("v1beta1.yaml"), load("v1beta2.yaml")
	if len(v1.Hosts) != 7 {
		t.Fatalf("v1beta1.yaml loaded %d hosts, want 7", len(v1.Hosts))
	}
	if !reflect.DeepEqual(v1, v2) {
		t.Errorf("the twins differ:\nv1beta1 %s\nv1beta2 %s", dumpHosts(v1.Hosts), dumpHosts(v2.Hosts))
	}
}

// TestLoadConfig checks loadConfig end to end: the flag, the environment
// variable, stdin with paths relative to the working directory, and the
// default beside the executable.
func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "flag.yaml"), v1beta1Header+"hosts: [{host: flag.example, credential: {fromPath: token}}]\n")
	writeFile(t, filepath.Join(dir, "env.yaml"), v1beta1Header+"hosts: [{host: env.example, credential: {value: '${LOGIN_TOKEN}'}}]\n")
	t.Setenv("LOGIN_TOKEN", "env-token")

	t.Setenv("FLUX_MIRROR_CONFIG", filepath.Join(dir, "env.yaml"))
	cfg, err := loadConfig(filepath.Join(dir, "flag.yaml"), nil, true)
	if err != nil || cfg.Hosts[0].Host != "flag.example" || cfg.dir != dir {
		t.Fatalf("--config: %+v, %v", cfg, err)
	}

	cfg, err = loadConfig("", nil, true)
	if err != nil || cfg.Hosts[0].Host != "env.example" || cfg.Hosts[0].Credential.Value != "env-token" {
		t.Fatalf("$FLUX_MIRROR_CONFIG: %+v, %v", cfg, err)
	}
	cfg, err = loadConfig("", nil, false)
	if err != nil || cfg.Hosts[0].Credential.Value != "${LOGIN_TOKEN}" {
		t.Fatalf("--no-envsubst: %+v, %v", cfg, err)
	}

	work := t.TempDir()
	t.Chdir(work)
	stdin := strings.NewReader(v1beta1Header + "hosts: [{host: stdin.example, credential: {fromPath: token}}]\n")
	cfg, err = loadConfig("-", stdin, true)
	if err != nil || cfg.Hosts[0].Host != "stdin.example" || cfg.dir != work {
		t.Fatalf("stdin: %+v, %v; want dir %s", cfg, err, work)
	}

	missing := filepath.Join(dir, "nope", "flux-mirror.yaml")
	if _, err := loadConfig(missing, nil, true); err == nil || err.Error() != missing+": no such file or directory" {
		t.Errorf("missing file: %v", err)
	}

	t.Setenv("FLUX_MIRROR_CONFIG", "")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig("", nil, true); err == nil || err.Error() != "no config given, and the default "+exe+".config does not exist: pass -f FILE, or set FLUX_MIRROR_CONFIG to the config's path" {
		t.Errorf("default path: %v", err)
	}
}

// TestConfigSecretsStayOut checks that a secret in a config never shows in
// an error, whatever is wrong around it.
func TestConfigSecretsStayOut(t *testing.T) {
	const secret = "s3cr3t-4242"
	env := map[string]string{"SECRET": secret, "DIGITS": "4242"}
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"number where a string is wanted", v1beta1Header + "hosts: [{host: r.example, credential: {value: 4242}}]",
			`hosts[0]: credential: value must be a string, not a number: quote the value, as in "0123" (YAML 1.1 reads 0123 as the octal number 83)`},
		{"mapping where a string is wanted", v1beta1Header + "hosts: [{host: r.example, credential: {value: {" + secret + ": x}}}]",
			"hosts[0]: credential: value must be a string, not a mapping"},
		{"substituted into a number field", v1beta1Header + "hosts: [{host: r.example, maxChunkSize: '${SECRET}'}]",
			"hosts[0]: maxChunkSize must be an integer, not a string"},
		{"beside a null key", v1beta1Header + "hosts: [{host: r.example, credential: {~: " + secret + "}}]",
			"parse config: a key must be a string, a number or a boolean"},
		{"in a value with a bad reference", v1beta1Header + "hosts: [{host: r.example, credential: {value: '" + secret + "${'}}]",
			"substitute environment variables: hosts[0]: credential: value: bad substitution at offset 11: want a variable name after ${"},
		{"in an unclosed reference", v1beta1Header + "hosts: [{host: r.example, credential: {value: '${X:-" + secret + "'}}]",
			"substitute environment variables: hosts[0]: credential: value: bad substitution at offset 0: missing closing brace"},
		{"two sources", v1beta1Header + "hosts: [{host: r.example, credential: {value: '${SECRET}', jwkValue: " + secret + "}}]",
			"hosts[0]: credential: exactly one of provider, value, fromPath, jwkPath, or jwkValue must be set"},
		{"envelope", v1beta1Header + "hosts: [{host: r.example, credential: {value: '${SECRET}', envelope: '{{ .Token.X }}'}}]",
			`hosts[0]: credential: render envelope: template: envelope:1:9: executing "envelope" at <.Token.X>: can't evaluate field X in type string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDoc(t.TempDir(), tt.doc, env)
			if err == nil {
				t.Fatal("loaded")
			}
			if strings.Contains(err.Error(), "4242") {
				t.Fatalf("the error shows the secret")
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %q\nwant %q", err, tt.want)
			}
		})
	}
}

// FuzzLoadConfig feeds the decoder and the substitution arbitrary
// documents: they never panic, and an error never comes with a config.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(v1beta1Header + "hosts: [{host: r.example, credential: {value: '${TOKEN}'}}]\n"))
	dir := f.TempDir()
	env := map[string]string{"TOKEN": "fuzz-token", "EMPTY": ""}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig(data, dir, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			if cfg != nil {
				t.Fatalf("config returned with error %v", err)
			}
			return
		}
		for i, h := range cfg.Hosts {
			if h.Host == "" || strings.Contains(h.Host, "/") {
				t.Errorf("hosts[%d]: invalid host %q loaded", i, h.Host)
			}
			if c := h.Credential; c != nil && !filepath.IsLocal(filepath.Clean(c.FromPath+c.JWKPath)) && c.FromPath+c.JWKPath != "" {
				t.Errorf("hosts[%d]: path %q leaves the folder", i, c.FromPath+c.JWKPath)
			}
		}
	})
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
