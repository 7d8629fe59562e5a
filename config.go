package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// config is a loaded, substituted and validated flux-mirror config, reduced
// to what login needs. v1beta1 and v1beta2 files both decode into it.
type config struct {
	Hosts []hostConfig
	// dir is the folder that fromPath, jwkPath and the tls paths are
	// relative to: the config file's folder, or the working directory when
	// the config came from stdin.
	dir string
	// file is the config's path as given, or "stdin", for messages.
	file string
	// warnings are the loader's notes about the file, each starting with
	// its path, for the command to print.
	warnings []string
}

// hostConfig is one hosts[] entry.
type hostConfig struct {
	Host string
	// Username set: the credential is the password of a username/password
	// pair. Unset: the credential is a bearer registrytoken.
	Username string
	// Credential says how the secret is obtained; nil when not configured.
	Credential *credentialConfig
	// Provider is a cloud registry's native login: "ecr", "acr" or "gar";
	// empty when not configured.
	Provider string
	// Insecure lets login --verify send the credential over plain http
	// to this host (plainHTTPAllowed); loopback hosts need no mark.
	Insecure bool
}

// credentialConfig is a host's credential block. Exactly one of Provider,
// Value, FromPath, JWKPath and JWKValue is set.
type credentialConfig struct {
	Provider string // github, forgejo, gcp, azure, aws, jwt-svid, kubelet
	Value    string
	FromPath string // relative to config.dir, checked to stay inside it
	JWKPath  string // relative to config.dir, checked to stay inside it
	JWKValue string
	Issuer   string
	Subject  string
	// Audiences as configured; empty means the default, the host.
	Audiences []string
	// Expiration is the signed JWT's lifetime; zero means the default, 60s.
	Expiration time.Duration
	// Envelope is a text/template applied to the token (see applyEnvelope);
	// empty means the token is used as it is.
	Envelope string
}

// audiences returns the configured audiences, or the host when none is set.
func (c *credentialConfig) audiences(host string) []string {
	if len(c.Audiences) > 0 {
		return c.Audiences
	}
	return []string{host}
}

// hasCredential reports whether login has anything to store for h; a host
// with only tls or maxChunkSize has not.
func (h hostConfig) hasCredential() bool {
	return h.Credential != nil || h.Provider != ""
}

// bearerOnly reports whether h's credential can only be sent as a bearer
// registrytoken: it has no username and no cloud provider's pair.
func (h hostConfig) bearerOnly() bool {
	return h.Provider == "" && h.Username == ""
}

// isLiteral reports whether h's credential is written in the config as it
// is sent: resolving it reads no file and asks no server.
func (h hostConfig) isLiteral() bool {
	c := h.Credential
	return h.Provider == "" && c != nil && c.Value != "" && c.Envelope == ""
}

// hostIndex returns the index of the host named exactly name, or -1.
func (c *config) hostIndex(name string) int {
	for i, h := range c.Hosts {
		if h.Host == name {
			return i
		}
	}
	return -1
}

// The config versions this tool reads. v1beta2 is the shape current
// flux-mirror writes; a file shared with the original plugin loads here too.
const (
	apiVersionV1beta1 = "mirror.plugin.fluxcd.io/v1beta1"
	apiVersionV1beta2 = "mirror.plugin.fluxcd.io/v1beta2"
)

// loadConfig reads the config named by flagPath (see configPath), or stdin
// for "-", substitutes environment variables when substitute is set, and
// decodes and validates it, with every host's credential.
func loadConfig(flagPath string, stdin io.Reader, substitute bool) (*config, error) {
	return loadSelected(flagPath, stdin, substitute, selection{})
}

// loadSelected is loadConfig for what sel selects: the one loader of every
// command. Its errors and warnings start with the file's path (and the
// line, where the YAML parser gives one).
func loadSelected(flagPath string, stdin io.Reader, substitute bool, sel selection) (*config, error) {
	path, err := configPath(flagPath, os.Getenv, os.Executable)
	if err != nil {
		return nil, err
	}
	data, dir, err := readConfig(path, stdin)
	if err != nil {
		if flagPath == "" && os.Getenv("FLUX_MIRROR_CONFIG") == "" && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no config given, and the default %s does not exist: pass -f FILE, or set FLUX_MIRROR_CONFIG to the config's path", path)
		}
		return nil, err
	}
	var lookup func(string) (string, bool)
	if substitute {
		lookup = os.LookupEnv
	}
	name := path
	if path == "-" {
		name = "stdin"
	}
	cfg, err := parseSelected(data, dir, lookup, sel)
	if err != nil {
		var le lineError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("%s:%d: %s", name, le.line, le.msg)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg.file = name
	for i, w := range cfg.warnings {
		cfg.warnings[i] = name + ": " + w
	}
	return cfg, nil
}

// parseConfig decodes and validates a config document whose paths are
// relative to dir, with every host's credential. A nil lookup turns
// environment substitution off.
func parseConfig(data []byte, dir string, lookup func(string) (string, bool)) (*config, error) {
	return parseSelected(data, dir, lookup, selection{})
}

// parseSelected is parseConfig for what sel selects (see substituteConfig).
func parseSelected(data []byte, dir string, lookup func(string) (string, bool), sel selection) (*config, error) {
	if len(data) > maxConfigSize {
		return nil, errConfigSize
	}
	doc, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, fmt.Errorf("the config is empty; a config starts with:\n%s", indent(configHeader(apiVersionV1beta2, true)+"hosts:\n  - host: ghcr.io\n    credential:\n      type: jwt\n      username: flux\n      value: ${GH_TOKEN}"))
	}
	var warnings []string
	if lookup != nil {
		// Substituting in the parsed tree, not the raw text, keeps a value
		// that holds "#", ": " or only digits a string, byte for byte, and
		// never evaluates a ${VAR} written in a comment.
		if doc, warnings, err = substituteConfig(doc, lookup, sel); err != nil {
			if errors.As(err, new(emptiedError)) {
				return nil, err
			}
			return nil, fmt.Errorf("substitute environment variables: %w", err)
		}
	}
	top, ok := doc.(map[string]any)
	if doc != nil && !ok {
		return nil, fmt.Errorf("config must be a mapping, not %s", describe(doc))
	}
	version, ok := top["apiVersion"].(string)
	if v := top["apiVersion"]; v != nil && !ok {
		return nil, wrongType("apiVersion", "a string", v)
	}
	var (
		kind  string
		hosts []hostFile
		d     dialect
	)
	switch version {
	case apiVersionV1beta1:
		var f configFile[v1beta1Host]
		if err := decodeNode("", doc, &f); err != nil {
			return nil, err
		}
		kind, d = f.Kind, v1beta1Dialect()
		for _, h := range f.Hosts {
			hosts = append(hosts, h.convert())
		}
	case apiVersionV1beta2:
		var f configFile[hostFile]
		if err := decodeNode("", doc, &f); err != nil {
			return nil, err
		}
		kind, d, hosts = f.Kind, v1beta2Dialect(), f.Hosts
	case "":
		return nil, missingHeader(doc, top["kind"] == nil)
	default:
		return nil, fmt.Errorf("apiVersion must be %q or %q, got %q", apiVersionV1beta1, apiVersionV1beta2, version)
	}
	if kind == "" {
		return nil, fmt.Errorf("kind is missing; add this line below apiVersion:\n%s", indent("kind: Config"))
	}
	if kind != "Config" {
		return nil, fmt.Errorf("kind must be %q, got %q", "Config", kind)
	}

	paths, err := openFolder(dir)
	if err != nil {
		return nil, err
	}
	defer paths.close()
	cfg := &config{dir: paths.dir, warnings: warnings}
	// byKey maps each Docker config key to the host stored under it, so
	// that a duplicate is found in one lookup, not by scanning the earlier
	// hosts: a 4,000-host config spent 400 ms in that scan. Keys compare
	// without case (registryKey lowers them): a registry name is a DNS
	// name, and two spellings of one, or two Docker Hub aliases, would
	// overwrite each other's entry.
	byKey := make(map[string]int, len(hosts))
	for i, h := range hosts {
		hc, err := checkHost(h, d, paths)
		if err != nil {
			return nil, fmt.Errorf("hosts[%d]: %w", i, err)
		}
		key := registryKey(hc.Host)
		if j, ok := byKey[key]; ok && cfg.Hosts[j].Host == hc.Host {
			return nil, fmt.Errorf("hosts[%d]: host %q is configured more than once", i, hc.Host)
		} else if ok {
			return nil, fmt.Errorf("hosts[%d]: host %q and hosts[%d] host %q are stored under one Docker config key %q; configure it once",
				i, hc.Host, j, cfg.Hosts[j].Host, key)
		}
		byKey[key] = len(cfg.Hosts)
		cfg.Hosts = append(cfg.Hosts, hc)
	}
	return cfg, nil
}
