package main

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNewPullSecret(t *testing.T) {
	soon := time.Date(2030, 1, 1, 12, 0, 0, 500, time.UTC)
	later := soon.Add(time.Hour)
	results := []hostResult{
		{host: hostConfig{Host: "ghcr.io", Username: "bot", Credential: &credentialConfig{Value: "x"}},
			auth: hostAuth{Username: "bot", Password: "p1", ExpiresAt: later}},
		{host: hostConfig{Host: "tls.example.com"}, skipped: true},
		{host: hostConfig{Host: "Docker.io", Provider: "gar"},
			auth: hostAuth{Username: "oauth2accesstoken", Password: "p2", ExpiresAt: soon}},
		{host: hostConfig{Host: "token.example.com", Credential: &credentialConfig{Value: "y"}},
			auth: hostAuth{RegistryToken: "t3"}},
	}
	p, err := newPullSecret(&config{}, results)
	if err != nil {
		t.Fatal(err)
	}
	wantData := `{"auths":{"ghcr.io":{"username":"bot","password":"p1","auth":"Ym90OnAx"},` +
		`"https://index.docker.io/v1/":{"username":"oauth2accesstoken","password":"p2","auth":"b2F1dGgyYWNjZXNzdG9rZW46cDI="},` +
		`"token.example.com":{"registrytoken":"t3"}}}`
	if string(p.dockerConfigJSON) != wantData {
		t.Errorf(".dockerconfigjson differs from the expected shape (content not shown)")
	}
	for k, want := range map[string]string{
		annotationHosts:      "ghcr.io,Docker.io,token.example.com",
		annotationExpiresAt:  "2030-01-01T12:00:00Z",
		annotationIdentities: `{"Docker.io":{"source":"provider gar","username":"oauth2accesstoken"},"ghcr.io":{"source":"value","username":"bot"},"token.example.com":{"source":"value"}}`,
	} {
		if got := p.annotations[k]; got != want {
			t.Errorf("annotation %s = %q, want %q", k, got, want)
		}
	}
	if len(p.tokenHosts) != 1 || p.tokenHosts[0] != "token.example.com" {
		t.Errorf("tokenHosts = %v", p.tokenHosts)
	}

	// A username an auth field cannot hold is refused, as login refuses it.
	bad := []hostResult{{host: hostConfig{Host: "a.example.com"}, auth: hostAuth{Username: "a:b", Password: "p"}}}
	if _, err := newPullSecret(&config{}, bad); err == nil {
		t.Error("a username with ':' was accepted")
	}
}

func TestFreshUntil(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ours := func(hosts, expires string) *corev1.Secret {
		s := &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, ObjectMeta: metav1.ObjectMeta{
			Labels:      map[string]string{managedByLabel: managedByValue},
			Annotations: map[string]string{annotationHosts: hosts},
		}}
		if expires != "" {
			s.Annotations[annotationExpiresAt] = expires
		}
		return s
	}
	foreign := ours("a.io", "2030-01-01T02:00:00Z")
	delete(foreign.Labels, managedByLabel)
	for _, tc := range []struct {
		name   string
		secret *corev1.Secret
		hosts  []string
		fresh  bool
	}{
		{"no secret", nil, []string{"a.io"}, false},
		{"fresh", ours("a.io", "2030-01-01T02:00:00Z"), []string{"a.io"}, true},
		{"due within the margin", ours("a.io", "2030-01-01T00:59:59Z"), []string{"a.io"}, false},
		{"exactly at the margin", ours("a.io", "2030-01-01T01:00:00Z"), []string{"a.io"}, false},
		{"other hosts", ours("a.io", "2030-01-01T02:00:00Z"), []string{"a.io", "b.io"}, false},
		{"never expires", ours("a.io", ""), []string{"a.io"}, false},
		{"unreadable expiry", ours("a.io", "tomorrow"), []string{"a.io"}, false},
		{"not ours", foreign, []string{"a.io"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fresh := freshUntil(tc.secret, tc.hosts, time.Hour, now)
			if fresh != tc.fresh {
				t.Errorf("fresh = %v, want %v", fresh, tc.fresh)
			}
		})
	}
}

func TestParseRequestTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true}, {"30", 30 * time.Second, true}, {"1m", time.Minute, true},
		{"500ms", 500 * time.Millisecond, true}, {"-1", 0, false}, {"-1s", 0, false}, {"soon", 0, false},
	} {
		got, err := parseRequestTimeout(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRequestTimeout(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestSameSecret(t *testing.T) {
	p := pullSecret{dockerConfigJSON: []byte(`{"auths":{}}`), annotations: map[string]string{annotationHosts: "a.io"}}
	base := p.apply("ns", "regcreds", nil)
	base.Annotations["theirs"] = "kept"
	if !sameSecret(base, p.apply("ns", "regcreds", base)) {
		t.Error("the same content is not recognised as unchanged")
	}
	changed := pullSecret{dockerConfigJSON: []byte(`{"auths":{"b":{}}}`), annotations: p.annotations}
	if sameSecret(base, changed.apply("ns", "regcreds", base)) {
		t.Error("new data counted as unchanged")
	}
	if got := p.apply("ns", "regcreds", base).Annotations["theirs"]; got != "kept" {
		t.Errorf("someone else's annotation became %q", got)
	}
}
