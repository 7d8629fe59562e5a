package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// configFileName is the Docker config file in its folder; docker has no way
// to name it otherwise (docker/cli cli/config/config.go).
const configFileName = "config.json"

// dockerHubKey is the key under which docker and go-containerregistry look
// up Docker Hub credentials, in auths and as a helper's ServerURL
// (docker/cli registry.IndexServer, ggcr authn.DefaultAuthKey).
const dockerHubKey = "https://index.docker.io/v1/"

// destination says where a credential is (or would be) stored.
type destination struct {
	// Helper is the credential helper's name (the suffix after
	// docker-credential-); empty when the credential goes in config.json.
	Helper string
	// Path is the config.json path.
	Path string
	// unchanged is set by store when config.json already held exactly
	// this entry: docker (28+) then skips the write and its warning.
	unchanged bool
}

// dockerStore is one run's hold on a Docker config folder: its lock, the
// config.json as loaded, and the changes to write.
type dockerStore struct {
	path string
	lock *os.File
	cfg  dockerConfig
	// loaded is the encoding of the config as loaded: save writes only when
	// the encoding has changed.
	loaded []byte
	// fresh is docker's "no auth configured" (configfile.ContainsAuth is
	// false) on the config as loaded, the one case in which docker picks the
	// platform's credential helper itself; detected is that helper, or "".
	fresh    bool
	detected string
	// helperStderr receives a helper's stderr, as docker passes it through
	// so that the user sees what pass or gpg say.
	helperStderr io.Writer
	// rename replaces the config file; a seam for the in-place fallback.
	rename func(oldpath, newpath string) error
	// readBack, when set, asks the helper for a credential store has just
	// given it (see readBack in dockerhelper.go); a failure fails the
	// store before config.json names the helper.
	readBack func(helper, key string, a hostAuth) error
}

// dockerConfigDir is --docker-config, else $DOCKER_CONFIG, else ~/.docker,
// the order docker itself uses (docker/cli cli/config/config.go).
func dockerConfigDir(flagDir string) (string, error) {
	if flagDir != "" {
		return flagDir, nil
	}
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the docker config folder: %w (set --docker-config or $DOCKER_CONFIG)", err)
	}
	return filepath.Join(home, ".docker"), nil
}

// openDockerStore locks the Docker config folder dir and loads its
// config.json, waiting at most lockWait for another run's lock. The lock is
// taken before reading, so that a concurrent login that stores after us has
// read our entries first and loses none of them. It sits beside
// config.json's resolved target, where the write happens: two folders
// whose config.json link to one file must share it.
func openDockerStore(dir string, lockWait time.Duration) (*dockerStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if why := unwritable(err); why != nil {
			return nil, fmt.Errorf("cannot create the docker config folder %s: %w; %s", dir, why, otherFolder)
		}
		return nil, fmt.Errorf("creating the docker config folder: %w", err)
	}
	path := filepath.Join(dir, configFileName)
	target, existing, err := configTarget(path)
	if err != nil {
		return nil, err
	}
	lock, err := lockConfig(target, existing, lockWait)
	if err != nil {
		if why := unwritable(err); why != nil {
			// The lock file is ours, an implementation detail: the user
			// can act on the folder it could not be created in.
			return nil, fmt.Errorf("cannot write to the docker config folder %s: %w; %s", filepath.Dir(target), why, otherFolder)
		}
		return nil, fmt.Errorf("locking the docker config: %w", err)
	}
	s, err := loadDockerStore(path)
	if err != nil {
		unlockFile(lock)
		return nil, err
	}
	s.lock = lock
	removeDeadTempFiles(path)
	return s, nil
}

// removeDeadTempFiles deletes the temp files a killed run left beside
// config.json's target: they hold that run's config, secrets included.
// Only a run holding the lock writes our temp files, so while we hold it
// any that exist belong to dead runs. docker's own temp files (config.json
// plus digits) are left alone: one may be a live docker's.
func removeDeadTempFiles(path string) {
	target, err := resolveSymlinks(path)
	if err != nil {
		return
	}
	dead, _ := filepath.Glob(filepath.Join(filepath.Dir(target), globEscape(filepath.Base(target))+tempSuffix+"*"))
	for _, f := range dead {
		os.Remove(f)
	}
}

// globEscape quotes the glob metacharacters of a file name.
func globEscape(name string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(name)
}

// readDockerStore loads the config.json in dir without creating the folder
// or taking the lock, for --dry-run, which writes nothing.
func readDockerStore(dir string) (*dockerStore, error) {
	return loadDockerStore(filepath.Join(dir, configFileName))
}

func loadDockerStore(path string) (*dockerStore, error) {
	s := &dockerStore{path: path, helperStderr: os.Stderr, rename: os.Rename}
	// A missing file, or a dangling config.json symlink, is an empty config,
	// as for docker.
	data, err := readConfigFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the docker config: %w", err)
	}
	if s.cfg, err = parseDockerConfig(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.loaded, err = s.cfg.encode(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.fresh = !s.cfg.containsAuth()
	if s.fresh {
		s.detected = defaultHelper(runtime.GOOS, exec.LookPath)
	}
	return s, nil
}

// readConfigFile reads the config.json at path, refusing anything but a
// regular file (configTarget's rule) without blocking on a FIFO.
func readConfigFile(path string) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// registryKey is the auths key and helper ServerURL for host. Every Docker
// Hub alias becomes dockerHubKey, the only key docker and
// go-containerregistry look up for Hub images; any other host is its own
// key in lower case. docker and go-containerregistry look a key up exactly
// as the image reference spells it, and references spell hosts in lower
// case in practice, so Registry.Example.COM is stored where they look.
func registryKey(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return dockerHubKey
	}
	return host
}

// store stores a for host: a registry token in config.json, a
// username/password pair through the host's credential helper or in
// config.json. ctx bounds a helper call.
func (s *dockerStore) store(ctx context.Context, host string, a hostAuth, plaintext bool) (destination, error) {
	key := registryKey(host)
	dest, detected, err := s.where(host, a, plaintext)
	if err != nil {
		return destination{}, err
	}
	var entry authEntry
	switch {
	case a.RegistryToken != "":
		// The token replaces the whole entry.
		entry = authEntry{"registrytoken": jsonString(a.RegistryToken)}
	case dest.Helper == "":
		auth := base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Password))
		entry = authEntry{"auth": jsonString(auth)}
	}
	if entry != nil {
		old, had := s.cfg.auths[key]
		dest.unchanged = had && maps.EqualFunc(old, entry, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) })
		s.cfg.auths[key] = entry
		return dest, nil
	}
	if err := storeWithHelper(ctx, dest.Helper, key, a.Username, a.Password, s.helperStderr); err != nil {
		return destination{}, err
	}
	if s.readBack != nil {
		if err := s.readBack(dest.Helper, key, a); err != nil {
			return destination{}, err
		}
	}
	// An empty entry, so that neither a stale plaintext auth nor a stale
	// registrytoken shadows the helper: docker and go-containerregistry
	// both prefer a registrytoken over the helper's pair, and docker login
	// replaces the whole entry too.
	s.cfg.auths[key] = authEntry{}
	if _, ok := s.cfg.credHelpers[key]; !ok {
		// containers/image (podman, skopeo, buildah) ignores credsStore
		// (containers/image#111) but reads credHelpers; docker and
		// go-containerregistry pick the same helper either way.
		s.cfg.setCredHelper(key, dest.Helper)
	}
	if detected {
		// docker persists the store it detected on its next save; we do so
		// only once a credential is actually in it.
		s.cfg.setCredsStore(dest.Helper)
	}
	return dest, nil
}

// where is the destination store would choose for a, and whether its
// helper is one detected on a fresh config, after every check store runs
// short of storing: --dry-run's answer, and store's first step, so that a
// dry run fails exactly where a login would.
func (s *dockerStore) where(host string, a hostAuth, plaintext bool) (dest destination, detected bool, err error) {
	dest = destination{Path: s.path}
	if a.RegistryToken != "" {
		// A helper holds username/secret pairs only, and docker and
		// go-containerregistry read registrytoken from the file even when a
		// helper is configured.
		return dest, false, nil
	}
	if a.Username == "" {
		// docker refuses to load an auth with an empty username, and a
		// helper answer without one reads back as no credential.
		return destination{}, false, errors.New("no username to store the password with")
	}
	dest.Helper, detected = s.helperFor(registryKey(host), plaintext)
	if dest.Helper == "" {
		if err := checkAuthUsername(a.Username, "config.json"); err != nil {
			return destination{}, false, err
		}
		return dest, false, nil
	}
	if _, err := findHelper(dest.Helper, "store"); err != nil {
		return destination{}, false, err
	}
	return dest, detected, nil
}

// erase removes what is stored for host: the credential in the helper that
// would hold it, and the auths entry, registry token included. It reports
// whether anything was there.
func (s *dockerStore) erase(ctx context.Context, host string) (destination, bool, error) {
	key := registryKey(host)
	dest := destination{Path: s.path}
	erased := false
	if helper, _ := s.helperFor(key, false); helper != "" {
		found, err := eraseWithHelper(ctx, helper, key, s.helperStderr)
		if err != nil {
			return destination{}, false, err
		}
		if found {
			dest.Helper, erased = helper, true
		}
	}
	if s.cfg.credsStore != "" && s.cfg.credHelpers[key] == s.cfg.credsStore {
		// The entry login adds beside credsStore for containers/image; it
		// names the helper docker would use anyway, so dropping it changes
		// nothing else.
		s.cfg.deleteCredHelper(key)
	}
	if entry, ok := s.cfg.auths[key]; ok {
		delete(s.cfg.auths, key)
		// The {} a helper store leaves behind holds no credential.
		erased = erased || len(entry) > 0
	}
	return dest, erased, nil
}

// save writes config.json once, if anything changed.
func (s *dockerStore) save() error {
	data, err := s.cfg.encode()
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.path, err)
	}
	if bytes.Equal(data, s.loaded) {
		return nil
	}
	if err := writeConfigFile(s.path, data, s.rename); err != nil {
		return fmt.Errorf("writing %s: %w", s.path, err)
	}
	s.loaded = data
	return nil
}

// close releases the lock. The lock file stays: removing it would let a
// process that opened it before the removal lock a file nobody else sees.
func (s *dockerStore) close() {
	if s.lock != nil {
		unlockFile(s.lock)
		s.lock = nil
	}
}

// tempSuffix marks our temp files: config.json.tmp-<random>.
const tempSuffix = ".tmp-"

// writeConfigFile replaces the file at path, or the file a symlink at path
// points to, with data the way docker's configfile.Save does: a temp file
// in the target's folder, the target's mode (0600 for a new file), then a
// rename, so that a reader sees the old or the new file, never a part.
func writeConfigFile(path string, data []byte, rename func(oldpath, newpath string) error) error {
	target, err := resolveSymlinks(path)
	if err != nil {
		return err
	}
	mode := fs.FileMode(0o600)
	var existing fs.FileInfo
	switch fi, err := os.Stat(target); {
	case err == nil && !fi.Mode().IsRegular():
		return errNotRegular(path, fi.Mode())
	case err == nil:
		mode, existing = fi.Mode().Perm(), fi
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	// The temp file goes beside the resolved target, not beside the
	// symlink, so that the rename never crosses file systems
	// (docker/cli#5553).
	tmp, err := os.CreateTemp(filepath.Dir(target), filepath.Base(target)+tempSuffix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if existing != nil {
		keepOwner(tmp, existing)
	}
	if err := writeAndSync(tmp, data, mode); err != nil {
		return err
	}
	err = rename(tmp.Name(), target)
	if errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EBUSY) {
		// A bind-mounted config.json (a container's -v file mount, a
		// Kubernetes subPath) cannot be renamed over: write it in place,
		// as docker's unmerged docker/cli#2902 proposed. This one path is
		// not atomic.
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return err
		}
		return writeAndSync(f, data, mode)
	}
	return err
}

// writeAndSync gives f mode, writes data, flushes it to disk and closes f.
func writeAndSync(f *os.File, data []byte, mode fs.FileMode) error {
	err := f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// resolveSymlinks follows the symlinks at path to the file they name, even
// when that file does not exist yet, as docker does since docker/cli#5281.
func resolveSymlinks(path string) (string, error) {
	resolved, err := filepath.EvalSymlinks(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return resolved, err
	}
	// path, or the end of its chain of links, does not exist: walk the
	// chain by hand to the missing name. A relative link is relative to
	// the folder the link is in as the kernel finds it, with the symlinks
	// on the way resolved first: joined as text, "../x" in a link reached
	// through a symlinked folder would climb from the symlink's place, not
	// the folder's, and name another file.
	for range 255 {
		dir, name := splitLast(path)
		realDir, err := filepath.EvalSymlinks(dir)
		if errors.Is(err, fs.ErrNotExist) {
			// No folder to create the file in; the write will say so.
			return filepath.Clean(path), nil
		}
		if err != nil {
			return "", err
		}
		path = filepath.Join(realDir, name)
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			// Not filepath.Join, which would clean "sym/.." away as text:
			// the next round's EvalSymlinks resolves it as the kernel does.
			link = realDir + string(filepath.Separator) + link
		}
		path = link
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

// checkAuthUsername refuses a username that the auth field of file
// (config.json, a pull Secret) cannot hold: auth splits on the first ':'
// when read, so the pair would come back with the wrong username and
// password.
func checkAuthUsername(username, file string) error {
	if strings.Contains(username, ":") {
		return fmt.Errorf("username %q contains ':', which %s's auth field cannot hold", username, file)
	}
	return nil
}
