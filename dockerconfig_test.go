package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRegistryKey(t *testing.T) {
	for host, want := range map[string]string{
		"docker.io":            dockerHubKey,
		"index.docker.io":      dockerHubKey,
		"registry-1.docker.io": dockerHubKey,
		"ghcr.io":              "ghcr.io",
		"localhost:5000":       "localhost:5000",
		"reg.example.com:443":  "reg.example.com:443",
		"Docker.io":            dockerHubKey,
		"Registry.Example.COM": "registry.example.com",
		"LocalHost:5000":       "localhost:5000",
		"docker.io:443":        "docker.io:443",
	} {
		if got := registryKey(host); got != want {
			t.Errorf("registryKey(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestCheckAuthEntry(t *testing.T) {
	for _, tc := range []struct {
		entry string
		err   string
	}{
		{`{}`, ""},
		{`{"auth":""}`, ""},
		{`{"auth":"dXNlcjpwYXNz"}`, ""},              // user:pass
		{`{"auth":"dXNlcjo="}`, ""},                  // user:
		{`{"auth":"dXNlcjpwOmFzcw=="}`, ""},          // user:p:ass
		{`{"auth":"dXNlcjpwYXNz", "email":"x"}`, ""}, // unknown keys are not checked
		{`{"auth":"dXNlcjpwYXNz!"}`, "not valid base64"},
		{`{"auth":"dXNlcjpwYXM"}`, "not valid base64"},  // missing padding
		{`{"auth":"dXNlcjpwYXM_"}`, "not valid base64"}, // URL alphabet
		{`{"auth":"dXNlcnBhc3M="}`, "no ':'"},           // userpass
		{`{"auth":"OnBhc3M="}`, "empty username"},       // :pass
		{`{"auth":42}`, "not a string"},
	} {
		var entry authEntry
		if err := json.Unmarshal([]byte(tc.entry), &entry); err != nil {
			t.Fatal(err)
		}
		err := checkAuthEntry(entry)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.entry, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one containing %q", tc.entry, err, tc.err)
		}
	}
}

func TestEncode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "{\n\t\"auths\": {}\n}"},
		{`{}`, "{\n\t\"auths\": {}\n}"},
		// auths first, then Go's byte order: upper case before lower case.
		{`{"proxies":{"default":{"httpProxy":"http://p:3128"}},"HttpHeaders":{"X-Meta":"a&b"},"auths":{"b":{},"a":{"auth":"dTpw"}},"credsStore":"pass"}`,
			"{\n\t\"auths\": {\n\t\t\"a\": {\n\t\t\t\"auth\": \"dTpw\"\n\t\t},\n\t\t\"b\": {}\n\t},\n\t\"HttpHeaders\": {\n\t\t\"X-Meta\": \"a\\u0026b\"\n\t},\n\t\"credsStore\": \"pass\",\n\t\"proxies\": {\n\t\t\"default\": {\n\t\t\t\"httpProxy\": \"http://p:3128\"\n\t\t}\n\t}\n}"},
		// Values are kept as written, numbers included.
		{`{"auths":{},"x":[1.50,2e3,null,true]}`, "{\n\t\"auths\": {},\n\t\"x\": [\n\t\t1.50,\n\t\t2e3,\n\t\tnull,\n\t\ttrue\n\t]\n}"},
	} {
		c, err := parseDockerConfig([]byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		got, err := c.encode()
		if err != nil || string(got) != tc.want {
			t.Errorf("encode(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestOpenRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct{ name, content, err string }{
		{"not JSON", `{"auths": {`, "not valid JSON"},
		{"trailing garbage", `{"auths": {}} x`, "not valid JSON"},
		{"not an object", `["auths"]`, "not a JSON object"},
		{"auths not an object", `{"auths": []}`, "auths: not an object"},
		{"auth not base64", `{"auths": {"ghcr.io": {"auth": "s3cret-p@ss"}}}`, `auths["ghcr.io"]: auth: not valid base64`},
		{"auth without colon", `{"auths": {"ghcr.io": {"auth": "czNjcmV0LXBAc3M="}}}`, "no ':'"},
		{"auth with empty user", `{"auths": {"ghcr.io": {"auth": "OnMzY3JldC1wQHNz"}}}`, "empty username"},
		{"credsStore not a string", `{"auths": {}, "credsStore": 1}`, "credsStore: not a string"},
		{"credHelpers not strings", `{"auths": {}, "credHelpers": {"ghcr.io": true}}`, "credHelpers: not an object of strings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := storeWorld(t)
			writeConfig(t, dir, tc.content)
			s, err := openDockerStore(dir, testLockWait)
			if err == nil {
				s.close()
				t.Fatal("opened")
			}
			checkNoSecrets(t, []string{testPassword}, filepath.Dir(dir), nil, err.Error())
			path := filepath.Join(dir, configFileName)
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %q, want one naming %s and containing %q", err, path, tc.err)
			}
			if got := readFile(t, path); got != tc.content {
				t.Errorf("config.json changed to %q", got)
			}
			checkNoTempFiles(t, dir)
			// The lock is released: the folder can be opened again.
			writeConfig(t, dir, `{}`)
			s, err = openDockerStore(dir, testLockWait)
			if err != nil {
				t.Fatal(err)
			}
			s.close()
		})
	}
}

// FuzzParseDockerConfig checks that whatever config.json the reader
// accepts is written back in a form it reads the same way.
func FuzzParseDockerConfig(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"auths":{"a":{"auth":"dTpw","x":[1,{"y":null}]}},"credsStore":"pass","credHelpers":{"b":""}}`,
		`{"auths":{"a":null},"HttpHeaders":{"X":"<&>"}}`, `{"auths":{"a":{"auth":"OnA="}}}`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseDockerConfig(data)
		if err != nil {
			return
		}
		out, err := c.encode()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		c2, err := parseDockerConfig(out)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		out2, err := c2.encode()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable: %v", err)
		}
		if c.containsAuth() != c2.containsAuth() || c.credsStore != c2.credsStore || len(c.credHelpers) != len(c2.credHelpers) {
			t.Fatal("decisions differ after a rewrite")
		}
	})
}

// FuzzDockerConfigFile drives the store as login does over a fuzzed
// config.json: a file the store refuses is never written, and a file it
// accepts keeps every top-level key and every other entry, value for
// value, after a registry token is stored and saved.
func FuzzDockerConfigFile(f *testing.F) {
	f.Add([]byte(`{"auths":{"a.example.com":{"auth":"dTpw","email":"x"}},"proxies":{"default":{}},"n":1.50}`))
	f.Add([]byte(`{"auths":{"x":{"auth":"not base64"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, configFileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := openDockerStore(dir, testLockWait)
		if err != nil {
			if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
				t.Fatalf("refused file was changed: %v", err)
			}
			return
		}
		defer s.close()
		if _, err := s.store(context.Background(), "fuzz.example.com", hostAuth{RegistryToken: "tok"}, true); err != nil {
			t.Fatalf("store: %v", err)
		}
		if err := s.save(); err != nil {
			t.Fatalf("save: %v", err)
		}
		var before, after map[string]json.RawMessage
		json.Unmarshal(data, &before)
		written, _ := os.ReadFile(path)
		if err := json.Unmarshal(written, &after); err != nil {
			t.Fatalf("written file is not JSON: %v", err)
		}
		for k, v := range before {
			if k == "auths" {
				continue
			}
			if !jsonEqual(v, after[k]) {
				t.Fatalf("top-level key %q changed", k)
			}
		}
		var authsBefore, authsAfter map[string]json.RawMessage
		json.Unmarshal(before["auths"], &authsBefore)
		json.Unmarshal(after["auths"], &authsAfter)
		for k, v := range authsBefore {
			if k != "fuzz.example.com" && !jsonEqual(v, authsAfter[k]) {
				t.Fatalf("auths entry %q changed", k)
			}
		}
	})
}

// jsonEqual compares two JSON values by meaning, keeping numbers as
// written.
func jsonEqual(a, b json.RawMessage) bool {
	decode := func(m json.RawMessage) (any, bool) {
		d := json.NewDecoder(bytes.NewReader(m))
		d.UseNumber()
		var v any
		return v, d.Decode(&v) == nil
	}
	va, okA := decode(a)
	vb, okB := decode(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}
