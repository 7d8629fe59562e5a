package main

// login --helper: instead of storing a secret, point docker at this binary
// as the host's credential helper, and remember which config serves the
// host, so that every later get mints from it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

// registrationFileName is the file, in os.UserConfigDir()/flux-mirror,
// that maps each registered key to the absolute path of its config.
const registrationFileName = "helper-hosts.json"

// registrationPath is the registration file's path.
func registrationPath(env helperEnv) (string, error) {
	base, err := env.configDir()
	if err != nil {
		return "", fmt.Errorf("finding the user config folder: %w", err)
	}
	return filepath.Join(base, cacheFolderName, registrationFileName), nil
}

// corruptRegistrationsError is a registration file that is not a JSON
// object of strings: get reports it, login --helper rewrites it.
type corruptRegistrationsError struct{ path string }

func (e *corruptRegistrationsError) Error() string {
	return fmt.Sprintf("%s is corrupt (not a JSON object of strings): run flux-mirror login --helper to rewrite it", e.path)
}

// readRegistrations reads the registration file; a missing one is empty.
// A file or folder that is not ours alone is a notPrivateError: whoever
// could write it would choose the config a get mints from.
func readRegistrations(env helperEnv) (map[string]string, error) {
	path, err := registrationPath(env)
	if err != nil {
		return nil, err
	}
	dir, err := openPrivateDir(filepath.Dir(path), false)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer dir.close()
	regs, _, err := readRegistrationFile(dir, registrationFileName)
	return regs, err
}

// readRegistrationFile reads name in dir, and returns what it read too.
func readRegistrationFile(dir *privateDir, name string) (map[string]string, []byte, error) {
	regs := map[string]string{}
	data, err := dir.readFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return regs, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the helper registrations: %w", err)
	}
	if err := json.Unmarshal(data, &regs); err != nil {
		return nil, data, &corruptRegistrationsError{dir.join(name)}
	}
	return regs, data, nil
}

// updateRegistrations applies change to the registration file under its
// lock, re-reading it first so that registrations made by other configs
// and other processes are kept, and writes it atomically, 0600. A corrupt
// file is started afresh, its bytes kept beside it as .corrupt.
func updateRegistrations(env helperEnv, stderr io.Writer, change func(map[string]string)) error {
	path, err := registrationPath(env)
	if err != nil {
		return err
	}
	dir, err := openPrivateDir(filepath.Dir(path), true)
	if err != nil {
		return fmt.Errorf("the helper registrations: %w", err)
	}
	defer dir.close()
	// Another login --helper or logout holds it only for a read and a write.
	lock, err := dir.lock(registrationFileName+lockSuffix, defaultHelperTimeout)
	if err != nil {
		return fmt.Errorf("locking the helper registrations: %w", err)
	}
	defer unlockFile(lock)
	regs, old, err := readRegistrationFile(dir, registrationFileName)
	if _, ok := errors.AsType[*corruptRegistrationsError](err); ok {
		if err := dir.writeFile(registrationFileName+".corrupt", old); err != nil {
			return fmt.Errorf("keeping a copy of the corrupt %s: %w", path, err)
		}
		fmt.Fprintf(stderr, "! %s was corrupt: rewriting it; its old bytes are in %s.corrupt\n", path, path)
		regs, err = map[string]string{}, nil
	}
	if err != nil {
		return err
	}
	change(regs)
	data, err := json.MarshalIndent(regs, "", "\t")
	if err != nil {
		return err
	}
	if err := dir.writeFile(registrationFileName, data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// scrubAuth drops key's auth and registrytoken: docker and
// go-containerregistry read a registrytoken from the file even when a
// helper is configured, so a stale one would shadow every token the helper
// mints.
func (c *dockerConfig) scrubAuth(key string) {
	if entry, ok := c.auths[key]; ok {
		delete(entry, "auth")
		delete(entry, "registrytoken")
		if len(entry) == 0 {
			delete(c.auths, key)
		}
	}
}

// checkHelperLogin checks the flags login --helper cannot combine with.
func (o *loginOptions) checkHelperLogin() error {
	if o.configPath == "-" {
		return usagef("--helper cannot register a config read from stdin: name its file with -f")
	}
	if o.plaintext {
		return usagef("--helper and --plaintext cannot be combined: --helper stores no secret")
	}
	return nil
}

// storeHelperResults registers every resolved host for the helper:
// credHelpers in config.json and the config's path in the registration
// file, or with --dry-run only says it would. configPath is the config's
// absolute path.
func storeHelperResults(results []hostResult, reports []hostReport, o loginOptions, configPath string, stderr io.Writer) error {
	if !anyResolved(results) {
		return nil
	}
	dir, err := dockerConfigDir(o.dockerConfig)
	if err != nil {
		return err
	}
	dest := destination{Helper: helperName, Path: filepath.Join(dir, configFileName)}
	if o.dryRun {
		for i, r := range results {
			if !r.skipped {
				reports[i].setDestination(dest)
				reports[i].Status = statusWouldStore
			}
		}
		return nil
	}
	store, err := o.openStore()
	if err != nil {
		return err
	}
	defer store.close()
	// The registration goes first: alone it changes nothing docker reads.
	env := osHelperEnv()
	err = updateRegistrations(env, stderr, func(regs map[string]string) {
		for _, r := range results {
			if !r.skipped {
				regs[registryKey(r.host.Host)] = configPath
			}
		}
	})
	if err != nil {
		return err
	}
	for i, r := range results {
		if r.skipped {
			continue
		}
		key := registryKey(r.host.Host)
		for _, k := range credHelperKeys(key) {
			store.cfg.setCredHelper(k, helperName)
			store.cfg.scrubAuth(k)
		}
		// A token cached for the host came from an older config.
		dropCachedTokens(env, key)
		reports[i].setDestination(dest)
		reports[i].Status = statusRegistered
	}
	if err := store.save(); err != nil {
		for i := range reports {
			if reports[i].Status == statusRegistered {
				reports[i].Status, reports[i].Error = statusNotStored, "not stored: config.json was not written"
			}
		}
		return err
	}
	if _, err := exec.LookPath(helperProgram); err != nil {
		fmt.Fprintf(stderr, "! %s is not on PATH, so docker cannot run it: install the release archive's %s (the small helper) beside flux-mirror, or link it with:\n    ln -s \"$(command -v flux-mirror)\" /usr/local/bin/%s\n", helperProgram, helperProgram, helperProgram)
	}
	return nil
}

// eraseHelperHost is logout for a host registered with login --helper:
// its credHelpers entry, its registration and its cached tokens go. It
// reports whether key was such a host.
func eraseHelperHost(store *dockerStore, key string, stderr io.Writer) (bool, error) {
	if store.cfg.credHelpers[key] != helperName {
		return false, nil
	}
	for _, k := range credHelperKeys(key) {
		if store.cfg.credHelpers[k] == helperName {
			store.cfg.deleteCredHelper(k)
		}
	}
	delete(store.cfg.auths, key)
	env := osHelperEnv()
	if err := updateRegistrations(env, stderr, func(regs map[string]string) { delete(regs, key) }); err != nil {
		return true, err
	}
	return true, dropCachedTokens(env, key)
}

// credHelperKeys are the credHelpers keys login --helper writes for key:
// key itself, the one docker reads, and for Docker Hub also "docker.io",
// the one containers/image (podman, skopeo, buildah) looks up
// (containers/image pkg/docker/config getCredentialsWithHomeDir).
func credHelperKeys(key string) []string {
	if key == dockerHubKey {
		return []string{key, "docker.io"}
	}
	return []string{key}
}

// checkHelperResults fails every resolved host the helper could not serve.
func checkHelperResults(results []hostResult) {
	for i, r := range results {
		if r.err == nil && !r.skipped {
			results[i].err = checkHelperHost(r.host)
		}
	}
}

// storeHelper is login --helper's store step: the config's absolute path
// is what the registration records.
func (o *loginOptions) storeHelper(results []hostResult, reports []hostReport, stderr io.Writer) error {
	path, err := configPath(o.configPath, os.Getenv, os.Executable)
	if err != nil {
		return err
	}
	if path, err = filepath.Abs(path); err != nil {
		return err
	}
	// The helper mints afresh at each get: the expiry of the token
	// resolved now says nothing about what docker will get.
	for i := range reports {
		reports[i].ExpiresAt = nil
	}
	return storeHelperResults(results, reports, *o, path, stderr)
}
