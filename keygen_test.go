package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// readKeySet reads a JWK set file and returns its raw bytes and its one key.
func readKeySet(t *testing.T, path string) ([]byte, jose.JSONWebKey) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatalf("%s is not a JWK set: %v", path, err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%s holds %d keys, want 1", path, len(set.Keys))
	}
	return data, set.Keys[0]
}

// keyParam returns one parameter of a set's only key as written.
func keyParam(t *testing.T, data []byte, name string) (string, bool) {
	t.Helper()
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(data, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("not a JWK set of one key: %v", err)
	}
	v, ok := set.Keys[0][name].(string)
	return v, ok
}

func TestKeygenWritesKeySets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys", "signing")
	var stdout bytes.Buffer
	if err := runKeygen([]string{"-o", dir}, &stdout); err != nil {
		t.Fatalf("keygen: %v", err)
	}
	privPath := filepath.Join(dir, "privkey.json")
	pubPath := filepath.Join(dir, "pubkey.json")
	want := "✔ private key set written to: " + privPath + "\n✔ public key set written to: " + pubPath + "\n"
	if stdout.String() != want {
		t.Errorf("stdout =\n%s\nwant\n%s", stdout.String(), want)
	}

	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{privPath, 0o600}, {pubPath, 0o644}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != f.mode {
			t.Errorf("%s mode = %v, want %v", filepath.Base(f.path), fi.Mode(), f.mode)
		}
	}

	privData, priv := readKeySet(t, privPath)
	pubData, pub := readKeySet(t, pubPath)
	if priv.IsPublic() {
		t.Errorf("privkey.json holds a public key")
	}
	if !pub.IsPublic() {
		t.Errorf("pubkey.json holds a private key")
	}
	d, ok := keyParam(t, privData, "d")
	if !ok || d == "" {
		t.Fatalf("privkey.json has no d")
	}
	checkNoSecrets(t, []string{d}, dir, []string{privPath}, stdout.String())
	if priv.KeyID == "" || priv.KeyID != pub.KeyID {
		t.Errorf("kids differ or are empty")
	}
	for _, data := range [][]byte{privData, pubData} {
		for name, want := range map[string]string{"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": priv.KeyID} {
			if got, _ := keyParam(t, data, name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if !bytes.HasPrefix(data, []byte("{\n  \"keys\": [\n    {\n      \"")) || !bytes.HasSuffix(data, []byte("\n  ]\n}\n")) {
			t.Errorf("key set is not 2-space indented JSON with a trailing newline:\n%s", pubData)
		}
	}

	// The private set signs a token that the public set verifies.
	token, _, err := signJWT(privData, "iss", "sub", []string{"aud"}, time.Minute, testNow)
	if err != nil {
		t.Fatalf("signJWT with privkey.json: %v", err)
	}
	pubJWK, err := pub.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	verifyJWT(t, token, pubJWK, jose.EdDSA)
	if header, _ := decodeJWT(t, token); !strings.Contains(header, `"kid":"`+pub.KeyID+`"`) {
		t.Errorf("token header %s does not name kid %s", header, pub.KeyID)
	}
}

func TestKeygenKidIsRandomUUID(t *testing.T) {
	// A random UUID (RFC 9562 section 5.4) in lowercase.
	uuidV4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 3 {
		dir := t.TempDir()
		if _, _, err := keygen(dir, writeNewFile); err != nil {
			t.Fatalf("keygen: %v", err)
		}
		_, key := readKeySet(t, filepath.Join(dir, "pubkey.json"))
		if !uuidV4.MatchString(key.KeyID) {
			t.Errorf("kid %q is not a version 4 UUID", key.KeyID)
		}
		if seen[key.KeyID] {
			t.Errorf("kid %s repeated", key.KeyID)
		}
		seen[key.KeyID] = true
	}
}

func TestKeygenRefusesToOverwrite(t *testing.T) {
	for _, existing := range []string{"privkey.json", "pubkey.json"} {
		t.Run(existing, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, existing)
			if err := os.WriteFile(path, []byte("keep me\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout bytes.Buffer
			err := runKeygen([]string{"--output-dir", dir}, &stdout)
			if want := path + " already exists, refusing to overwrite"; err == nil || err.Error() != want {
				t.Fatalf("error = %v, want %q", err, want)
			}
			assertDirHolds(t, dir, map[string]string{existing: "keep me\n"})
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

// assertDirHolds checks that dir holds exactly the files named, with the
// contents given.
func assertDirHolds(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != len(want) {
		t.Errorf("%s holds %v, want only %d files", dir, names, len(want))
	}
	for name, content := range want {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(data) != content {
			t.Errorf("%s was changed", name)
		}
	}
}

func TestKeygenRemovesPrivateKeyWhenPublicWriteFails(t *testing.T) {
	tests := []struct {
		name string
		// failPublic makes the write of pubkey.json fail, by really
		// failing it or by returning an error, and returns what should
		// be left in the directory.
		failPublic func(t *testing.T, pubPath string, data []byte, perm os.FileMode) (map[string]string, error)
		wantErr    string
	}{
		{
			// Another process creates pubkey.json after keygen checked:
			// the real O_EXCL write refuses and leaves that file alone.
			name: "pubkey.json appears meanwhile",
			failPublic: func(t *testing.T, pubPath string, data []byte, perm os.FileMode) (map[string]string, error) {
				if err := os.WriteFile(pubPath, []byte("someone else's\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return map[string]string{"pubkey.json": "someone else's\n"}, writeNewFile(pubPath, data, perm)
			},
			wantErr: "write public key set: %s already exists, refusing to overwrite",
		},
		{
			name: "the disk is full",
			failPublic: func(t *testing.T, pubPath string, data []byte, perm os.FileMode) (map[string]string, error) {
				return map[string]string{}, errors.New("no space left on device")
			},
			wantErr: "write public key set: no space left on device",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			pubPath := filepath.Join(dir, "pubkey.json")
			var privateWritten bool
			var left map[string]string
			var d string
			write := func(path string, data []byte, perm os.FileMode) error {
				if path != pubPath {
					d, _ = keyParam(t, data, "d")
					err := writeNewFile(path, data, perm)
					_, statErr := os.Stat(path)
					privateWritten = err == nil && statErr == nil
					return err
				}
				var err error
				left, err = tt.failPublic(t, path, data, perm)
				return err
			}
			_, _, err := keygen(dir, write)
			checkNoSecrets(t, []string{d}, dir, nil, fmt.Sprint(err))
			if want := strings.ReplaceAll(tt.wantErr, "%s", pubPath); err == nil || err.Error() != want {
				t.Fatalf("error = %v, want %q", err, want)
			}
			if !privateWritten || d == "" {
				t.Fatalf("privkey.json was never written, so its removal proves nothing")
			}
			assertDirHolds(t, dir, left)
		})
	}
}

func TestKeygenPrivateWriteFails(t *testing.T) {
	dir := t.TempDir()
	var d string
	write := func(path string, data []byte, perm os.FileMode) error {
		d, _ = keyParam(t, data, "d")
		return errors.New("read-only file system")
	}
	_, _, err := keygen(dir, write)
	checkNoSecrets(t, []string{d}, dir, nil, fmt.Sprint(err))
	if d == "" {
		t.Fatal("keygen never tried to write the private key")
	}
	if want := "write private key set: read-only file system"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	assertDirHolds(t, dir, map[string]string{})
}

func TestKeygenErrors(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"empty directory", []string{"-o", ""}, "output directory is required"},
		{"directory is a file", []string{"-o", filepath.Join(notDir, "keys")}, "create output directory: mkdir " + notDir + ": not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := runKeygen(tt.args, &stdout)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

func TestKeygenDefaultsToWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var stdout bytes.Buffer
	if err := runKeygen(nil, &stdout); err != nil {
		t.Fatalf("keygen: %v", err)
	}
	want := "✔ private key set written to: privkey.json\n✔ public key set written to: pubkey.json\n"
	if stdout.String() != want {
		t.Errorf("stdout =\n%s\nwant\n%s", stdout.String(), want)
	}
	for _, name := range []string{"privkey.json", "pubkey.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}
