package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// attackerToken is what a planted cache entry holds; no get may answer it.
const attackerToken = "ATTACKER-TOKEN-4f1c"

// victimEntry is the cache entry path a get of reg.example.com would use
// in w, computed the way the helper does.
func victimEntry(t *testing.T, w *helperWorld) string {
	t.Helper()
	env := w.env()
	h, err := findHelperHost(env, "reg.example.com", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(w.cacheDir, cacheFolderName, cacheEntryName(h, env))
}

// plantedEntry is a cache entry as an attacker writes it: their token,
// valid for an hour, for the config's username or another.
func plantedEntry(t *testing.T, username string) []byte {
	data, err := json.Marshal(cachedToken{Username: username, Secret: attackerToken, MintedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestHelperCacheRefusesPlantedEntries plants, as the same user could be
// tricked into or as a loose folder allows, each kind of entry the rule
// refuses. Every get answers the freshly minted token, never the planted
// one, writes nothing through a link, and warns when it did not use the
// cache. (The other-owner cases need a second uid: TestHelperSecondUser.)
func TestHelperCacheRefusesPlantedEntries(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, entry, elsewhere string)
		warn  string
	}{
		{"entry is a symlink to the attacker's entry", func(t *testing.T, entry, elsewhere string) {
			mustWrite(t, elsewhere, plantedEntry(t, "ci"), 0o600)
			mustSymlink(t, elsewhere, entry)
		}, "is a symbolic link"},
		{"entry is a symlink to an empty file that would receive the token", func(t *testing.T, entry, elsewhere string) {
			mustWrite(t, elsewhere, nil, 0o644)
			mustSymlink(t, elsewhere, entry)
		}, "is a symbolic link"},
		{"entry is readable by others", func(t *testing.T, entry, _ string) {
			mustWrite(t, entry, plantedEntry(t, "ci"), 0o644)
		}, "readable or writable by group or others"},
		{"entry is a hard link", func(t *testing.T, entry, elsewhere string) {
			mustWrite(t, elsewhere, plantedEntry(t, "ci"), 0o600)
			if err := os.Link(elsewhere, entry); err != nil {
				t.Fatal(err)
			}
		}, "hard link"},
		{"entry names another username", func(t *testing.T, entry, _ string) {
			mustWrite(t, entry, plantedEntry(t, "attacker"), 0o600)
		}, ""},
		{"lock is a symlink", func(t *testing.T, entry, elsewhere string) {
			mustWrite(t, entry, plantedEntry(t, "ci"), 0o600)
			mustSymlink(t, elsewhere, entry+".lock")
		}, "is a symbolic link"},
		{"folder is writable by others", func(t *testing.T, entry, _ string) {
			mustWrite(t, entry, plantedEntry(t, "ci"), 0o600)
			if err := os.Chmod(filepath.Dir(entry), 0o777); err != nil {
				t.Fatal(err)
			}
		}, "may be written by group or others"},
		{"folder is a symlink", func(t *testing.T, entry, elsewhere string) {
			dir := filepath.Dir(entry)
			if err := os.Rename(dir, elsewhere+".d"); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(elsewhere+".d", filepath.Base(entry)), plantedEntry(t, "ci"), 0o600)
			mustSymlink(t, elsewhere+".d", dir)
		}, "is a link or not a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newHelperWorld(t)
			w.writeConfig(t, actionsConfig)
			token := expiringJWT(t, w.now.Add(time.Hour))
			mints := startActionsFake(t, token, 0)
			entry := victimEntry(t, w)
			if err := os.MkdirAll(filepath.Dir(entry), 0o700); err != nil {
				t.Fatal(err)
			}
			elsewhere := filepath.Join(w.dir, "attacker-file")
			tt.plant(t, entry, elsewhere)
			before, _ := os.ReadFile(elsewhere)

			for i := range 2 {
				code, stdout, stderr := w.get(t, "reg.example.com")
				checkNoSecrets(t, []string{attackerToken}, "", nil, stdout, stderr)
				if code != 0 || !strings.Contains(stdout, token) {
					t.Fatalf("get #%d: exit %d, stderr %q; want the minted token", i+1, code, stderr)
				}
				if i == 0 && tt.warn != "" && !strings.Contains(stderr, "warning: token cache not used") {
					t.Errorf("get #1: stderr %q, want a warning that the cache was not used", stderr)
				}
				if i == 0 && !strings.Contains(stderr, tt.warn) {
					t.Errorf("get #1: stderr %q, want it to say %q", stderr, tt.warn)
				}
			}
			if mints.Load() == 0 {
				t.Fatal("no get minted")
			}
			// Nothing was written through a link.
			if after, _ := os.ReadFile(elsewhere); string(after) != string(before) {
				t.Errorf("%s changed: a get wrote through a planted link", elsewhere)
			}
			checkNoSecrets(t, []string{token}, "", nil, string(before))
		})
	}
}

func mustWrite(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestHelperCacheWrittenPrivately: an entry the helper writes is a 0600
// regular file of ours in a 0700 folder, and an old folder readable by
// others is tightened.
func TestHelperCacheWrittenPrivately(t *testing.T) {
	w := newHelperWorld(t)
	w.writeConfig(t, actionsConfig)
	startActionsFake(t, expiringJWT(t, w.now.Add(time.Hour)), 0)
	dir := filepath.Join(w.cacheDir, cacheFolderName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := w.get(t, "reg.example.com"); code != 0 {
		t.Fatalf("get: exit %d, stderr %q", code, stderr)
	}
	if fi, err := os.Lstat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache folder: %v, mode %v; want 0700", err, fi.Mode())
	}
	entry := victimEntry(t, w)
	if fi, err := os.Lstat(entry); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache entry: %v; want a 0600 regular file", err)
	}
}

// TestHelperCacheKeyedByIdentity: a variable of each family the minting
// SDKs read, and each credential file they read, changes the identity: a
// get after the change mints again instead of serving the other
// identity's token, and a get with nothing changed is served from cache.
func TestHelperCacheKeyedByIdentity(t *testing.T) {
	type change func(t *testing.T, w *helperWorld)
	setenv := func(name, value string) change {
		return func(t *testing.T, _ *helperWorld) { t.Setenv(name, value) }
	}
	// writeFile writes path (relative to HOME when not absolute) anew: a
	// new inode even when size and mtime would match.
	writeFile := func(path, content string) change {
		return func(t *testing.T, w *helperWorld) {
			if !filepath.IsAbs(path) {
				path = filepath.Join(os.Getenv("HOME"), path)
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			tmp := path + ".new"
			mustWrite(t, tmp, []byte(content), 0o600)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}
	}
	// rewrite writes the file the variable name points at anew.
	rewrite := func(name, content string) change {
		return func(t *testing.T, w *helperWorld) { writeFile(os.Getenv(name), content)(t, w) }
	}
	tests := []struct {
		name    string
		changes []change
	}{
		{"AWS container credentials", []change{
			setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds"),
			setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "task-a"),
			setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "task-b"),
			setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds/b"),
		}},
		{"AWS endpoints and profiles", []change{
			setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
			setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:8"),
			setenv("AWS_PROFILE", "b"),
			setenv("AWS_DEFAULT_PROFILE", "c"),
		}},
		{"AWS shared files", []change{
			writeFile(".aws/credentials", "[default]\naws_access_key_id = AKIAOLD\n"),
			writeFile(".aws/credentials", "[default]\naws_access_key_id = AKIANEW\n"),
			writeFile(".aws/config", "[default]\nregion = eu-west-1\n"),
		}},
		{"AWS token files", []change{
			setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/flux-mirror-test-web-identity"),
			setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/tmp/flux-mirror-test-ecs-token"),
		}},
		{"AWS web identity token file content", []change{
			func(t *testing.T, w *helperWorld) {
				path := filepath.Join(w.dir, "web-identity")
				mustWrite(t, path, []byte("token-a"), 0o600)
				t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path)
			},
			rewrite("AWS_WEB_IDENTITY_TOKEN_FILE", "token-b"),
		}},
		{"Azure", []change{
			setenv("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9/"),
			setenv("AZURE_CONFIG_DIR", "/tmp/flux-mirror-test-azure"),
			setenv("AZURESUBSCRIPTION_CLIENT_ID", "b"),
			setenv("AZURE_CLIENT_ID", "b"),
		}},
		{"Azure CLI folder", []change{
			writeFile(".azure/azureProfile.json", `{"subscriptions":[{"user":{"name":"a"}}]}`),
			writeFile(".azure/azureProfile.json", `{"subscriptions":[{"user":{"name":"b"}}]}`),
		}},
		{"Azure federated token file content", []change{
			func(t *testing.T, w *helperWorld) {
				path := filepath.Join(w.dir, "azure-federated")
				mustWrite(t, path, []byte("token-a"), 0o600)
				t.Setenv("AZURE_FEDERATED_TOKEN_FILE", path)
			},
			rewrite("AZURE_FEDERATED_TOKEN_FILE", "token-b"),
		}},
		{"Azure managed identity", []change{
			setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi"),
			setenv("IDENTITY_SERVER_THUMBPRINT", "b"),
			setenv("MSI_SECRET", "b"),
			setenv("IMDS_ENDPOINT", "http://127.0.0.1:9"),
		}},
		{"Google", []change{
			setenv("GOOGLE_CLOUD_UNIVERSE_DOMAIN", "example.com"),
			setenv("CLOUDSDK_CORE_ACCOUNT", "b@example.com"),
			setenv("GCE_METADATA_IP", "127.0.0.1:9"),
		}},
		{"Google credential files", []change{
			func(t *testing.T, w *helperWorld) {
				path := filepath.Join(w.dir, "sa.json")
				mustWrite(t, path, []byte(`{"type":"a"}`), 0o600)
				t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
			},
			rewrite("GOOGLE_APPLICATION_CREDENTIALS", `{"type":"b"}`),
			writeFile(".config/gcloud/application_default_credentials.json", `{"type":"c"}`),
		}},
		{"Actions, Forgejo and Gitea", []change{
			setenv("ACTIONS_ID_TOKEN_REQUEST_AUDIENCE", "job-b"),
			setenv("FORGEJO_ACTIONS", "true"),
			setenv("GITEA_ACTIONS", "true"),
		}},
		{"SPIFFE and Kubernetes", []change{
			setenv("SPIFFE_ENDPOINT_SOCKET", "unix:///tmp/b.sock"),
			setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
		}},
		{"home folder", []change{
			setenv("HOME", "/tmp/flux-mirror-test-other-home"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newHelperWorld(t)
			w.writeConfig(t, actionsConfig)
			token := expiringJWT(t, w.now.Add(time.Hour))
			mints := startActionsFake(t, token, 0)
			get := func(step string, wantMints int32) {
				t.Helper()
				code, _, stderr := w.get(t, "reg.example.com")
				if code != 0 {
					t.Fatalf("%s: get: exit %d, stderr %q", step, code, stderr)
				}
				if got := mints.Load(); got != wantMints {
					t.Fatalf("%s: %d mints, want %d", step, got, wantMints)
				}
			}
			get("first get", 1)
			get("second get, nothing changed", 1)
			for i, c := range tt.changes {
				c(t, w)
				step := fmt.Sprintf("change #%d", i+1)
				get("get after "+step, int32(i+2))
				get("get again after "+step, int32(i+2))
			}
		})
	}
}

// TestHelperEraseDuringMint: an erase (docker logout) or a logout that
// runs while a get is minting leaves no entry and no lock file behind: the
// drop waits for the mint under the entry's lock.
func TestHelperEraseDuringMint(t *testing.T) {
	for _, verb := range []string{"erase", "logout"} {
		t.Run(verb, func(t *testing.T) {
			w := newHelperWorld(t)
			token := expiringJWT(t, w.now.Add(time.Hour))
			mints := startActionsFake(t, token, 700*time.Millisecond)
			cfg := filepath.Join(w.dir, "config.yaml")
			mustWrite(t, cfg, []byte(actionsConfig), 0o600)
			if verb == "erase" {
				t.Setenv("FLUX_MIRROR_CONFIG", cfg)
			} else if code, _, stderr := runRealLogin(t, "login", "--helper", "-f", cfg); code != 0 {
				t.Fatalf("login --helper: exit %d, stderr %q", code, stderr)
			}
			dir := filepath.Join(w.cacheDir, cacheFolderName)
			base := mints.Load()
			var wg sync.WaitGroup
			wg.Go(func() {
				if code, _, stderr := w.get(t, "reg.example.com"); code != 0 {
					t.Errorf("get: exit %d, stderr %q", code, stderr)
				}
			})
			// Wait until the get holds its entry's lock and is minting.
			deadline := time.Now().Add(10 * time.Second)
			for {
				locks, _ := filepath.Glob(filepath.Join(dir, "*.lock"))
				if len(locks) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if verb == "erase" {
				var out strings.Builder
				if code := runCredentialHelper([]string{"erase"}, w.env(), strings.NewReader("reg.example.com\n"), &out, io.Discard); code != 0 {
					t.Fatalf("erase: exit %d, stdout %q", code, out.String())
				}
			} else if code, _, stderr := runRealLogin(t, "logout", "-f", cfg); code != 0 {
				t.Fatalf("logout: exit %d, stderr %q", code, stderr)
			}
			wg.Wait()
			if mints.Load() != base+1 {
				t.Fatalf("the get did not mint")
			}
			left, _ := os.ReadDir(dir)
			for _, e := range left {
				if strings.HasPrefix(e.Name(), hostCachePrefix("reg.example.com")) {
					t.Errorf("%s after %s during a mint: %s is left", verb, verb, e.Name())
				}
			}
		})
	}
}
