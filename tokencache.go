package main

// The helper's token cache: provider-minted credentials only, in the
// user's cache folder, so that a docker build asking for one host a
// hundred times mints once. It is the one place where a secret rests
// outside config.json and a keychain, so it holds only what a provider
// minted (never a config value, a fromPath file or a locally signed JWT,
// which is cheap to sign again), in 0600 files in a 0700 folder, read and written by the rules of
// privatefile.go.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// cacheFolderName is the cache's folder inside os.UserCacheDir.
const cacheFolderName = "flux-mirror"

// minReuseLeft is the least life a cached token must have left to be
// served: a pull that starts with it must not see it expire mid-way.
const minReuseLeft = 30 * time.Second

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

// servable reports whether t may answer a get of h at now: reusable, and
// minted for the username the config names now. An entry is keyed by the
// username too, so a mismatch is an entry someone else wrote.
func (t cachedToken) servable(h hostConfig, now time.Time) bool {
	return t.reusable(now) && (h.Username == "" || t.Username == h.Username)
}

// cachedResolve serves h's credential from the cache while it is
// servable, else mints it and caches it when its expiry is known. The
// entry's lock is held while minting, so concurrent gets with a cold cache
// mint once, and an erase or logout waits for the mint before it drops
// the entry. A failed mint is returned as it is: an old token is never
// served in its place (docker-credential-ecr-login does serve it). A cache
// folder or file that is not ours alone is not used: the get mints, caches
// nothing, and says so on stderr.
func cachedResolve(env helperEnv, h helperHost, stderr io.Writer, mint func() (hostAuth, error)) (hostAuth, error) {
	dir, err := openCacheFolder(env, true)
	if err != nil {
		warnNotCached(stderr, err)
		return mint()
	}
	defer dir.close()
	name := cacheEntryName(h, env)
	// Another process holding the lock is minting under its own bound.
	lock, err := dir.lock(name+lockSuffix, defaultHelperTimeout)
	if err != nil {
		warnNotCached(stderr, err)
		return mint()
	}
	defer unlockFile(lock)
	t, err := readCachedToken(dir, name)
	if err == nil && t.servable(h.host, env.now()) {
		return hostAuth{Username: t.Username, Password: t.Secret, ExpiresAt: t.ExpiresAt}, nil
	}
	// A planted entry is replaced below: the folder is ours, so the rename
	// puts our file in its place.
	warnNotCached(stderr, err)
	mintedAt := env.now()
	a, err := mint()
	if err != nil || a.ExpiresAt.IsZero() || a.Username == "" {
		// A token whose expiry is unknown could be served after it dies.
		dir.remove(name)
		return a, err
	}
	// A logout that ran while we minted has dropped the host: writing the
	// entry now would leave a live token on disk for a host nobody serves.
	if !h.stillRegistered(env) {
		dir.remove(name)
		dir.remove(name + lockSuffix)
		return a, nil
	}
	t = cachedToken{Username: a.Username, Secret: a.Password, MintedAt: mintedAt, ExpiresAt: a.ExpiresAt}
	if data, err := json.Marshal(t); err == nil {
		// A cache that cannot be written costs the next get a mint, no more.
		dir.writeFile(name, data)
	}
	return a, nil
}

// peekCachedToken is h's cached token when it is servable, read without
// the entry's lock (an entry is replaced by a rename, so a read sees a
// whole one): the small helper's cached get.
func peekCachedToken(env helperEnv, h helperHost) (hostAuth, bool) {
	dir, err := openCacheFolder(env, false)
	if err != nil {
		return hostAuth{}, false
	}
	defer dir.close()
	t, err := readCachedToken(dir, cacheEntryName(h, env))
	if err != nil || !t.servable(h.host, env.now()) {
		return hostAuth{}, false
	}
	return hostAuth{Username: t.Username, Password: t.Secret, ExpiresAt: t.ExpiresAt}, true
}

// lockSuffix names an entry's lock file beside it.
const lockSuffix = ".lock"

// warnNotCached says why the cache is not used, when the reason is a
// folder or file that is not ours alone; other failures (a read-only
// disk) only cost a mint and stay quiet.
func warnNotCached(stderr io.Writer, err error) {
	if _, ok := errors.AsType[*notPrivateError](err); ok {
		fmt.Fprintf(stderr, "%s: warning: token cache not used: %v\n", helperProgram, err)
	}
}

// readCachedToken reads an entry; a missing or unreadable one is a miss,
// and one that is not ours alone is a notPrivateError.
func readCachedToken(dir *privateDir, name string) (cachedToken, error) {
	var t cachedToken
	data, err := dir.readFile(name)
	if err != nil {
		return cachedToken{}, err
	}
	if json.Unmarshal(data, &t) != nil || t.Secret == "" {
		return cachedToken{}, errors.New("not a cache entry")
	}
	return t, nil
}

// openCacheFolder opens os.UserCacheDir()/flux-mirror, creating it 0700
// when create is set.
func openCacheFolder(env helperEnv, create bool) (*privateDir, error) {
	base, err := env.cacheDir()
	if err != nil {
		return nil, err
	}
	return openPrivateDir(filepath.Join(base, cacheFolderName), create)
}

// dropCachedTokens removes every cached token of key, whatever identity
// minted it, and their lock files. Each entry goes under its lock, so a
// get minting it now finishes first and its entry is dropped after it;
// an entry being minted has only its lock file yet, which is waited for
// the same way.
func dropCachedTokens(env helperEnv, key string) error {
	dir, err := openCacheFolder(env, false)
	if err != nil {
		// No folder, or one that is not ours: nothing of ours to drop.
		return nil
	}
	defer dir.close()
	names, err := dir.names(hostCachePrefix(key))
	if err != nil {
		return fmt.Errorf("drop cached tokens: %w", err)
	}
	var entries []string
	for _, n := range names {
		if base, ok := strings.CutSuffix(n, lockSuffix); ok && strings.HasSuffix(base, ".json") {
			entries = append(entries, base)
		} else if strings.HasSuffix(n, ".json") {
			entries = append(entries, n)
		}
	}
	slices.Sort(entries)
	for _, name := range slices.Compact(entries) {
		lock, lerr := dir.lock(name+lockSuffix, defaultHelperTimeout)
		err := dir.remove(name)
		if err == nil {
			err = dir.remove(name + lockSuffix)
		}
		if lerr == nil {
			unlockFile(lock)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("drop cached token: %w", err)
		}
	}
	// Temp files a crashed write left behind.
	for _, n := range names {
		if strings.Contains(n, tempSuffix) {
			dir.remove(n)
		}
	}
	return nil
}
