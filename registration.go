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

// readRegistrations reads the registration file; a missing one is empty.
func readRegistrations(env helperEnv) (map[string]string, error) {
	path, err := registrationPath(env)
	if err != nil {
		return nil, err
	}
	return readRegistrationFile(path)
}

func readRegistrationFile(path string) (map[string]string, error) {
	regs := map[string]string{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return regs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the helper registrations: %w", err)
	}
	if err := json.Unmarshal(data, &regs); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object of strings", path)
	}
	return regs, nil
}

// updateRegistrations applies change to the registration file under its
// lock, re-reading it first so that registrations made by other configs
// and other processes are kept, and writes it atomically, 0600.
func updateRegistrations(env helperEnv, change func(map[string]string)) error {
	path, err := registrationPath(env)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the user config folder: %w", err)
	}
	// Another login --helper or logout holds it only for a read and a write.
	lock, err := lockConfig(path, nil, defaultHelperTimeout)
	if err != nil {
		return fmt.Errorf("locking the helper registrations: %w", err)
	}
	defer unlockFile(lock)
	regs, err := readRegistrationFile(path)
	if err != nil {
		return err
	}
	change(regs)
	data, err := json.MarshalIndent(regs, "", "\t")
	if err != nil {
		return err
	}
	if err := writeConfigFile(path, data, os.Rename); err != nil {
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
	err = updateRegistrations(env, func(regs map[string]string) {
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
		store.cfg.setCredHelper(key, helperName)
		store.cfg.scrubAuth(key)
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
		fmt.Fprintf(stderr, "! %s is not on PATH, so docker cannot run it; link it with:\n    ln -s \"$(command -v flux-mirror)\" /usr/local/bin/%s\n", helperProgram, helperProgram)
	}
	return nil
}

// eraseHelperHost is logout for a host registered with login --helper:
// its credHelpers entry, its registration and its cached tokens go. It
// reports whether key was such a host.
func eraseHelperHost(store *dockerStore, key string) (bool, error) {
	if store.cfg.credHelpers[key] != helperName {
		return false, nil
	}
	store.cfg.deleteCredHelper(key)
	delete(store.cfg.auths, key)
	env := osHelperEnv()
	if err := updateRegistrations(env, func(regs map[string]string) { delete(regs, key) }); err != nil {
		return true, err
	}
	return true, dropCachedTokens(env, key)
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
