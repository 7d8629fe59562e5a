package main

// Helper mode: run as docker-credential-flux-mirror, the binary speaks the
// docker-credential-helpers protocol (its client package is the other
// side): the verb is the one argument, the request is on stdin, the answer
// or one line of error text is on stdout, and failure is exit 1. A get
// resolves the host's credential from its flux-mirror config exactly as
// login does, so a short-lived token is minted afresh whenever docker,
// crane, helm or flux ask for it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// helperName is the credential helper name login --helper writes in
// credHelpers; docker runs helperPrefix + helperName.
const helperName = "flux-mirror"

// helperProgram is the program name that selects helper mode.
const helperProgram = helperPrefix + helperName

// defaultHelperTimeout bounds a get when $FLUX_MIRROR_TIMEOUT is unset: a
// hanging identity endpoint must fail a docker pull, not hang it.
const defaultHelperTimeout = 30 * time.Second

// errNotFound is a get or erase for a host this helper does not serve;
// its text is the exact message docker and go-containerregistry take as
// "no credential, go anonymous" (docker-credential-helpers
// credentials.errCredentialsNotFoundMessage).
var errNotFound = errors.New(errCredentialsNotFound)

// helperEnv is what helper mode reads of its surroundings, passed in so
// that tests choose it.
type helperEnv struct {
	getenv     func(string) string
	environ    func() []string
	executable func() (string, error)
	now        func() time.Time
	// configDir and cacheDir are os.UserConfigDir and os.UserCacheDir.
	configDir func() (string, error)
	cacheDir  func() (string, error)
}

func osHelperEnv() helperEnv {
	return helperEnv{
		getenv:     os.Getenv,
		environ:    os.Environ,
		executable: os.Executable,
		now:        time.Now,
		configDir:  os.UserConfigDir,
		cacheDir:   os.UserCacheDir,
	}
}

// helperCredential is the protocol's credential
// (docker-credential-helpers credentials.Credentials).
type helperCredential struct {
	ServerURL string
	Username  string
	Secret    string
}

// runCredentialHelper runs one protocol verb and returns the exit code.
// Every failure is one line on stdout, as the protocol wants; it never
// holds a secret, because no error of the resolver does.
func runCredentialHelper(args []string, env helperEnv, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		// docker never sends these; a person trying the helper does.
		fmt.Fprintln(stdout, helperUsage)
		return 0
	}
	if len(args) != 1 {
		fmt.Fprintf(stdout, "usage: %s get|store|erase|list|version\n", helperProgram)
		return 1
	}
	var err error
	switch args[0] {
	case "get":
		// The request is kept: a get handed to the full binary replays it.
		request, rerr := io.ReadAll(io.LimitReader(stdin, maxResponseBytes))
		if rerr != nil {
			err = fmt.Errorf("read the server URL: %w", rerr)
			break
		}
		err = helperGet(env, bytes.NewReader(request), stdout, stderr)
		if errors.Is(err, errHandOff) {
			return handOffGet(env, request, stdout, stderr)
		}
	case "store":
		err = helperStore(stdin, stderr)
	case "erase":
		err = helperErase(env, stdin)
	case "list":
		err = helperList(env, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, helperProgram, version())
	default:
		err = fmt.Errorf("unknown verb %q: want get, store, erase, list or version", args[0])
	}
	if err != nil {
		fmt.Fprintln(stdout, oneLineError(err))
		return 1
	}
	return 0
}

// helperGet answers get: the server URL on stdin, the credential on stdout.
func helperGet(env helperEnv, stdin io.Reader, stdout, stderr io.Writer) error {
	serverURL, err := readServerURL(stdin)
	if err != nil {
		return err
	}
	key := helperKey(serverURL)
	h, err := findHelperHost(env, key, stderr)
	if err != nil {
		return err
	}
	auth, err := helperResolve(env, h, stderr)
	if err != nil {
		return fmt.Errorf("host %q: %w", h.host.Host, err)
	}
	return json.NewEncoder(stdout).Encode(helperCredential{ServerURL: serverURL, Username: auth.Username, Secret: auth.Password})
}

// helperStore answers store without storing: the credential is minted from
// the config at every get, so what docker login hands over is not needed.
// Succeeding keeps `docker login` on the host from failing, which is what
// users of docker-credential-ecr-login hit (its issues #102, #474).
func helperStore(stdin io.Reader, stderr io.Writer) error {
	var c helperCredential
	if err := json.NewDecoder(io.LimitReader(stdin, maxResponseBytes)).Decode(&c); err != nil {
		return errors.New("store: the request is not a credential in JSON")
	}
	fmt.Fprintf(stderr, "%s: nothing stored for %s: its credential is minted from its flux-mirror config at every get\n", helperProgram, helperKey(c.ServerURL))
	return nil
}

// helperErase answers erase: it drops the host's cached tokens, so that the
// next get mints, and succeeds whether or not there were any.
func helperErase(env helperEnv, stdin io.Reader) error {
	serverURL, err := readServerURL(stdin)
	if err != nil {
		return err
	}
	return dropCachedTokens(env, helperKey(serverURL))
}

// helperList answers list: each registered host's key and username.
func helperList(env helperEnv, stdout, stderr io.Writer) error {
	list := map[string]string{}
	paths := map[string][]string{}
	if p := env.getenv("FLUX_MIRROR_CONFIG"); p != "" {
		paths[p] = nil
	} else {
		regs, err := registrationsForHelper(env, stderr)
		if err != nil {
			return err
		}
		for key, p := range regs {
			paths[p] = append(paths[p], key)
		}
	}
	for path, keys := range paths {
		// A config that no longer loads lists nothing: list is what docker
		// build asks first, and one broken file must not fail the others.
		cfg, err := loadConfigAt(path, selection{namesOnly: true})
		if err != nil {
			continue
		}
		for _, h := range cfg.Hosts {
			key := registryKey(h.Host)
			if h.hasCredential() && (keys == nil || slices.Contains(keys, key)) {
				list[key] = h.Username
			}
		}
	}
	return json.NewEncoder(stdout).Encode(list)
}

// readServerURL reads the request of get and erase: a server URL on its
// own, with or without a final newline.
func readServerURL(stdin io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(stdin, maxResponseBytes))
	if err != nil {
		return "", fmt.Errorf("read the server URL: %w", err)
	}
	serverURL := strings.TrimSpace(string(data))
	if serverURL == "" {
		return "", errors.New("no server URL on stdin")
	}
	return serverURL, nil
}

// helperKey is the registry key a server URL names, as docker's
// ConvertToHostname reads it (a scheme and a path are dropped: host,
// https://host and https://host/v2/ are one host), with every Docker Hub
// form, https://index.docker.io/v1/ included, mapped to dockerHubKey.
//
// A URL with "://" that yields no host is read up to its first "/", as
// docker does: evil.example/x://reg.example.com is evil.example, never the
// second host it names, so that host's credential never goes to the first.
func helperKey(serverURL string) string {
	host := serverURL
	if strings.Contains(host, "://") {
		if u, err := url.Parse(host); err == nil && u.Host != "" {
			host = u.Host
		}
	}
	host, _, _ = strings.Cut(host, "/")
	return registryKey(host)
}

// helperHost is a host found in a config, with the config's path, which
// is part of a cached token's identity.
type helperHost struct {
	cfg        *config
	host       hostConfig
	configPath string
	// registered is the config path the registration file gave for the
	// host, empty when the config came from elsewhere.
	registered string
}

// stillRegistered reports whether h's registration is unchanged: a get
// that minted while logout ran must not cache what it minted.
func (h helperHost) stillRegistered(env helperEnv) bool {
	if h.registered == "" {
		return true
	}
	regs, err := readRegistrations(env)
	return err == nil && regs[registryKey(h.host.Host)] == h.registered
}

// registrationsForHelper reads the registration file for get and list. One
// that is not ours alone is not used: a warning, and no host registered.
func registrationsForHelper(env helperEnv, stderr io.Writer) (map[string]string, error) {
	regs, err := readRegistrations(env)
	if _, ok := errors.AsType[*notPrivateError](err); ok {
		fmt.Fprintf(stderr, "%s: warning: helper registrations not used: %v\n", helperProgram, err)
		return map[string]string{}, nil
	}
	return regs, err
}

// findHelperHost loads the config that serves key ($FLUX_MIRROR_CONFIG,
// else the one login --helper registered for key, else the executable's
// .config, flux-mirror.config for the small helper) and finds key's host in it. A key no config serves is
// errNotFound, so that docker goes on anonymously.
func findHelperHost(env helperEnv, key string, stderr io.Writer) (helperHost, error) {
	path := env.getenv("FLUX_MIRROR_CONFIG")
	registered := ""
	if path == "" {
		regs, err := registrationsForHelper(env, stderr)
		if err != nil {
			return helperHost{}, err
		}
		path, registered = regs[key], regs[key]
	}
	if path == "" {
		exe, err := env.executable()
		if err == nil {
			// The small helper (docker-credential-flux-mirror) reads the
			// config of flux-mirror beside it, as the full binary would.
			path = filepath.Join(filepath.Dir(exe), strings.TrimPrefix(filepath.Base(exe), helperPrefix)+".config")
			_, err = os.Stat(path)
		}
		if err != nil {
			// Nothing registered and no config beside the binary. docker
			// goes on anonymously at not-found and shows nothing, so say
			// where we looked: a get run with another HOME or XDG folder
			// than login --helper was is the usual cause.
			regPath, _ := registrationPath(env)
			fmt.Fprintf(stderr, "%s: %s is not registered in %s (run flux-mirror login --helper with the same HOME and XDG_CONFIG_HOME, or set FLUX_MIRROR_CONFIG)\n", helperProgram, key, regPath)
			return helperHost{}, errNotFound
		}
	}
	cfg, err := loadConfigAt(path, selection{keys: []string{key}})
	if err != nil {
		return helperHost{}, err
	}
	h, ok := cfg.hostForKey(key)
	if !ok {
		return helperHost{}, errNotFound
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return helperHost{}, err
	}
	return helperHost{cfg: cfg, host: h, configPath: abs, registered: registered}, nil
}

// loadConfigAt loads the config at path the way login -f path does, with
// substitution from this process's environment under sel: a get needs the
// variables of the one host it serves, list only names and usernames, so
// an unset variable of another host fails neither.
func loadConfigAt(path string, sel selection) (*config, error) {
	return loadSelected(path, strings.NewReader(""), true, sel)
}

// checkHelperHost refuses a host a credential helper cannot serve: the
// protocol carries a username and a secret, so a bearer registrytoken
// (a host without username) has no way through it.
func checkHelperHost(h hostConfig) error {
	if h.bearerOnly() {
		return errors.New("a credential helper can only serve a username and password: set username on this host to use --helper")
	}
	return nil
}

// helperResolve obtains h's credential under the helper's deadline,
// through the token cache when its source mints.
func helperResolve(env helperEnv, h helperHost, stderr io.Writer) (hostAuth, error) {
	if err := checkHelperHost(h.host); err != nil {
		return hostAuth{}, err
	}
	timeout := defaultHelperTimeout
	if s := env.getenv("FLUX_MIRROR_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return hostAuth{}, fmt.Errorf("FLUX_MIRROR_TIMEOUT %q is not a positive Go duration", s)
		}
		timeout = d
	}
	mint := func() (hostAuth, error) {
		// resolveHostsWith keeps the deadline even for a resolver that
		// ignores its context.
		r := resolveHostsWith([]hostConfig{h.host}, timeout, func(ctx context.Context, hc hostConfig) (hostAuth, error) {
			return resolveHost(ctx, h.cfg, hc, env.now)
		})[0]
		if r.err != nil && strings.HasPrefix(r.err.Error(), "not resolved within --timeout") {
			// The deadline is the variable's here, not a flag's.
			r.err = errors.New(strings.Replace(r.err.Error(), "--timeout", "FLUX_MIRROR_TIMEOUT", 1))
		}
		return r.auth, r.err
	}
	noCache := env.getenv("FLUX_MIRROR_NO_CACHE") == "1"
	if !mintsInProcess && needsFullBinary(h) {
		// The small helper answers from the cache or not at all: the full
		// binary mints (and caches) under the same lock and rules.
		if mintsToken(h.host) && !noCache {
			if a, ok := peekCachedToken(env, h); ok {
				return a, nil
			}
		}
		return hostAuth{}, errHandOff
	}
	if !mintsToken(h.host) || noCache {
		return mint()
	}
	return cachedResolve(env, h, stderr, mint)
}
