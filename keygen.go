package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"
)

const (
	privateKeySetFile = "privkey.json"
	publicKeySetFile  = "pubkey.json"
)

// writeFileFunc writes a new file; keygen takes it as a parameter so that a
// test can make the second write fail, which no file mode does for root.
type writeFileFunc func(path string, data []byte, perm os.FileMode) error

// runKeygen is the keygen command: flags, then keygen, then one line per
// file written.
// keygenFlags is keygen's FlagSet, shared with completion.
func keygenFlags(dir *string) *flag.FlagSet {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.StringVar(dir, "o", ".", "")
	fs.StringVar(dir, "output-dir", ".", "")
	return fs
}

func runKeygen(args []string, stdout io.Writer) error {
	var dir string
	fs := keygenFlags(&dir)
	if err := parseCommand(fs, args, keygenUsage, stdout); err != nil {
		return err
	}
	// Everywhere else -o is the output format. keygen's -o was a folder
	// before that, and scripts use it, so it stays one; a format given to
	// it is refused rather than made a folder named json.
	oGiven := false
	fs.Visit(func(f *flag.Flag) { oGiven = oGiven || f.Name == "o" })
	if oGiven && (dir == "text" || dir == "json") {
		return usagef("keygen: -o is the output folder here, and keygen has no output format; for a folder named %q, write --output-dir %s", dir, dir)
	}
	privPath, pubPath, err := keygen(dir, writeNewFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "✔ private key set written to: %s\n", privPath)
	fmt.Fprintf(stdout, "✔ public key set written to: %s\n", pubPath)
	return nil
}

// keygen writes a fresh Ed25519 pair into dir as two single-key JWK sets
// (RFC 7517 section 5, RFC 8037 section 2) sharing one kid: the private set
// for jwkPath, the public set for the registry that verifies the tokens.
// It returns the paths written.
func keygen(dir string, write writeFileFunc) (privPath, pubPath string, err error) {
	if dir == "" {
		return "", "", errors.New("output directory is required")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("create output directory: %w", err)
	}
	privPath = filepath.Join(dir, privateKeySetFile)
	pubPath = filepath.Join(dir, publicKeySetFile)
	// Check both before writing either, so that a refusal writes nothing.
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("%s already exists, refusing to overwrite", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("check %s: %w", p, err)
		}
	}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	kid := newKeyID()
	privSet, err := encodeKeySet(jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"})
	if err != nil {
		return "", "", fmt.Errorf("encode private key set: %w", err)
	}
	pubSet, err := encodeKeySet(jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(jose.EdDSA), Use: "sig"})
	if err != nil {
		return "", "", fmt.Errorf("encode public key set: %w", err)
	}

	if err := write(privPath, privSet, 0o600); err != nil {
		return "", "", fmt.Errorf("write private key set: %w", err)
	}
	if err := write(pubPath, pubSet, 0o644); err != nil {
		// A private key without its public half is of no use and should
		// not be left lying around.
		if rmErr := os.Remove(privPath); rmErr != nil {
			return "", "", fmt.Errorf("write public key set: %w (and remove %s: %v)", err, privPath, rmErr)
		}
		return "", "", fmt.Errorf("write public key set: %w", err)
	}
	return privPath, pubPath, nil
}

// newKeyID returns a random UUID (RFC 9562 section 5.4, version 4): unique
// without coordination and in the shape JWKS consumers usually see.
func newKeyID() string {
	var u [16]byte
	// crypto/rand.Read never fails (it crashes the program instead).
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// encodeKeySet writes key as a JWK set of one key, indented by two spaces
// with a trailing newline.
func encodeKeySet(key jose.JSONWebKey) ([]byte, error) {
	data, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key}}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// writeNewFile creates path with perm (less the umask, which only ever
// narrows it) and writes data to it. O_EXCL makes it fail rather than
// overwrite a file that appeared since keygen looked; a file it cannot
// finish is removed.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists, refusing to overwrite", path)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	return nil
}
