package main

// The helper's token cache: provider-minted credentials only, in the
// user's cache folder, so that a docker build asking for one host a
// hundred times mints once. It is the one place where a secret rests
// outside config.json and a keychain, so it holds only what a provider
// minted (never a config value, a fromPath file or a locally signed JWT,
// which is cheap to sign again), in 0600 files in a 0700 folder.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// cacheFolderName is the cache's folder inside os.UserCacheDir.
const cacheFolderName = "flux-mirror"

// minReuseLeft is the least life a cached token must have left to be
// served: a pull that starts with it must not see it expire mid-way.
const minReuseLeft = 30 * time.Second

// identityEnv is the variables the minting sources read to find their
// identity. Their values go into a cache entry's key (hashed, never
// written), so that two jobs on one runner, or two AWS profiles, never
// share a token.
func identityEnv() []string {
	return []string{
		"HOME",
		envActionsRequestURL, envActionsRequestToken,
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
		"AZURE_CLIENT_CERTIFICATE_PATH", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT",
		"GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", "GCE_METADATA_HOST",
		envSPIFFESocket,
	}
}

// cachedToken is a cache entry.
type cachedToken struct {
	Username  string    `json:"username"`
	Secret    string    `json:"secret"`
	MintedAt  time.Time `json:"mintedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// mintsToken reports whether h's credential comes from a provider, the
// only kind the cache holds.
func mintsToken(h hostConfig) bool {
	return h.Provider != "" || (h.Credential != nil && h.Credential.Provider != "")
}

// reusable reports whether t may still be served at now: its remaining
// life is more than its reuseMargin.
func (t cachedToken) reusable(now time.Time) bool {
	return t.ExpiresAt.Sub(now) > reuseMargin(t.MintedAt, t.ExpiresAt)
}

// reuseMargin is the life a token minted at mintedAt and expiring at
// expiresAt must have left to be served, from the helper's cache or the
// kubelet's: max(30s, a quarter of its lifetime).
func reuseMargin(mintedAt, expiresAt time.Time) time.Duration {
	return max(minReuseLeft, expiresAt.Sub(mintedAt)/4)
}

// cachedResolve serves h's credential from the cache while it is
// reusable, else mints it and caches it when its expiry is known. The
// entry's lock is held while minting, so concurrent gets with a cold cache
// mint once. A failed mint is returned as it is: an old token is never
// served in its place (docker-credential-ecr-login does serve it).
func cachedResolve(env helperEnv, h helperHost, mint func() (hostAuth, error)) (hostAuth, error) {
	dir, err := cacheFolder(env)
	if err != nil {
		return mint()
	}
	path := filepath.Join(dir, cacheEntryName(h, env.getenv))
	// Another process holding the lock is minting under its own bound.
	lock, err := lockConfig(path, nil, defaultHelperTimeout)
	if err != nil {
		return mint()
	}
	defer unlockFile(lock)
	if t, ok := readCachedToken(path); ok && t.reusable(env.now()) {
		return hostAuth{Username: t.Username, Password: t.Secret, ExpiresAt: t.ExpiresAt}, nil
	}
	mintedAt := env.now()
	a, err := mint()
	if err != nil || a.ExpiresAt.IsZero() || a.Username == "" {
		// A token whose expiry is unknown could be served after it dies.
		os.Remove(path)
		return a, err
	}
	t := cachedToken{Username: a.Username, Secret: a.Password, MintedAt: mintedAt, ExpiresAt: a.ExpiresAt}
	if data, err := json.Marshal(t); err == nil {
		// A cache that cannot be written costs the next get a mint, no more.
		writeConfigFile(path, data, os.Rename)
	}
	return a, nil
}

// readCachedToken reads an entry; a missing or unreadable one is a miss.
func readCachedToken(path string) (cachedToken, bool) {
	var t cachedToken
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, &t) != nil || t.Secret == "" {
		return cachedToken{}, false
	}
	return t, true
}

// cacheFolder is os.UserCacheDir()/flux-mirror, created 0700 and kept so.
func cacheFolder(env helperEnv) (string, error) {
	base, err := env.cacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, cacheFolderName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	// MkdirAll leaves an existing folder's mode alone; tokens rest here.
	return dir, os.Chmod(dir, 0o700)
}

// cacheEntryName names h's entry: a hash of its registry key, so that
// erase and logout find every entry of a host, then a hash of everything
// that decides which identity a mint would use: the resolved credential
// spec, the config's path and the identity environment.
func cacheEntryName(h helperHost, getenv func(string) string) string {
	key := registryKey(h.host.Host)
	spec := struct {
		Key, Host, Username, Provider, Envelope, ConfigPath string
		Audiences                                           []string
		Env                                                 []string
	}{Key: key, Host: h.host.Host, Username: h.host.Username, Provider: h.host.Provider, ConfigPath: h.configPath}
	if c := h.host.Credential; c != nil {
		spec.Provider, spec.Envelope, spec.Audiences = c.Provider, c.Envelope, c.audiences(h.host.Host)
	}
	for _, name := range identityEnv() {
		spec.Env = append(spec.Env, name+"="+getenv(name))
	}
	data, _ := json.Marshal(spec)
	identity := sha256.Sum256(data)
	return hostCachePrefix(key) + hex.EncodeToString(identity[:]) + ".json"
}

// hostCachePrefix starts the name of every cache entry of key.
func hostCachePrefix(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8]) + "-"
}

// dropCachedTokens removes every cached token of key, whatever identity
// minted it.
func dropCachedTokens(env helperEnv, key string) error {
	base, err := env.cacheDir()
	if err != nil {
		return nil
	}
	dir := filepath.Join(base, cacheFolderName)
	entries, err := filepath.Glob(filepath.Join(dir, hostCachePrefix(key)+"*.json"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Remove(e); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("drop cached token: %w", err)
		}
	}
	return nil
}
