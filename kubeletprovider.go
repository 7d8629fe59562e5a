//go:build !smallhelper

package main

// Kubelet mode: flux-mirror kubelet-credential-provider is an image
// credential provider plugin of the kubelet (GA since Kubernetes 1.26).
// At each image pull that misses its cache, the kubelet runs the plugin
// with one CredentialProviderRequest on stdin and reads one
// CredentialProviderResponse from stdout:
// https://kubernetes.io/docs/reference/config-api/kubelet-credentialprovider.v1/
// The plugin is one more thin front on the core: it picks the config host
// of the image's registry, resolves it with login's resolver and hands the
// kubelet a username and password. The API's types are a handful of
// fields, written out here so that this module never imports
// k8s.io/kubelet or k8s.io/kubernetes.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// The kubelet's plugin API, request and response.
const (
	credentialProviderAPIVersion = "credentialprovider.kubelet.k8s.io/v1"
	credentialProviderRequest    = "CredentialProviderRequest"
	credentialProviderResponse   = "CredentialProviderResponse"
	// cacheKeyRegistry makes the kubelet cache an answer for every image
	// of the registry: a config host's credential is the registry's.
	cacheKeyRegistry = "Registry"
)

// kubeletRequest is credentialprovider.kubelet.k8s.io/v1
// CredentialProviderRequest.
type kubeletRequest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Image      string `json:"image"`
	// ServiceAccountToken and ServiceAccountAnnotations are set only for
	// a provider with tokenAttributes.
	ServiceAccountToken       string            `json:"serviceAccountToken,omitempty"`
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
}

// kubeletResponse is credentialprovider.kubelet.k8s.io/v1
// CredentialProviderResponse. An empty CacheDuration means the provider's
// defaultCacheDuration; "0s" means do not cache.
type kubeletResponse struct {
	APIVersion    string                     `json:"apiVersion"`
	Kind          string                     `json:"kind"`
	CacheKeyType  string                     `json:"cacheKeyType"`
	CacheDuration string                     `json:"cacheDuration,omitempty"`
	Auth          map[string]kubeletAuthPair `json:"auth"`
}

// kubeletAuthPair is the only credential shape the kubelet takes: there is
// no bearer registry token in its API.
type kubeletAuthPair struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

const kubeletUsage = `Usage:
    flux-mirror kubelet-credential-provider [-f PATH]
    flux-mirror kubelet-credential-provider --print-config --bin-dir DIR [-f PATH]

Answer one kubelet image credential provider request (on stdin, as the
kubelet runs the plugin): resolve the credential of the config host of the
image's registry as login does and print it for the kubelet. An image whose
registry is not in the config gets no credential. A host needs a username
(or the kubelet source with the ` + kubeletUsernameAnnotation + `
ServiceAccount annotation): the kubelet takes only username/password.

With --print-config, check that every host can be served and print the
kubelet's CredentialProviderConfig for the config (see docs/kubelet.md).

Options:
    -f, --config PATH       Config file. Default: $FLUX_MIRROR_CONFIG, else <executable>.config.
    --print-config          Print the CredentialProviderConfig instead of answering a request.
    --bin-dir DIR           The kubelet's --image-credential-provider-bin-dir, where
                            flux-mirror is installed (with --print-config).

Example:
    $ flux-mirror kubelet-credential-provider --print-config --bin-dir /usr/libexec/kubelet-credential-providers \
        -f /etc/flux-mirror/hosts.yaml >/etc/kubernetes/credential-providers.yaml`

// kubeletOptions are kubelet-credential-provider's flags.
type kubeletOptions struct {
	global      globalOptions
	configPath  string
	printConfig bool
	binDir      string
}

func kubeletFlags(o *kubeletOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("kubelet-credential-provider", flag.ContinueOnError)
	o.global.register(fs)
	fs.StringVar(&o.configPath, "config", "", "")
	fs.StringVar(&o.configPath, "f", "", "")
	fs.BoolVar(&o.printConfig, "print-config", false, "")
	fs.StringVar(&o.binDir, "bin-dir", "", "")
	return fs
}

func runKubeletProvider(g globalOptions, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := kubeletOptions{global: g}
	if err := parseCommand(kubeletFlags(&o), args, kubeletUsage, stdout); err != nil {
		return err
	}
	if err := o.global.check(); err != nil {
		return err
	}
	if o.configPath == "-" {
		// The kubelet's request is what stdin holds.
		return usagef("kubelet-credential-provider reads its config from a file, not stdin")
	}
	if o.printConfig {
		if o.binDir == "" {
			return usagef("--print-config needs --bin-dir DIR, the kubelet's --image-credential-provider-bin-dir")
		}
		return printKubeletConfig(o, stdout, stderr)
	}
	if o.binDir != "" {
		return usagef("--bin-dir is only used with --print-config")
	}
	req, err := readKubeletRequest(stdin)
	if err != nil {
		return err
	}
	registry, err := imageRegistry(req.Image)
	if err != nil {
		return err
	}
	// Only the host of the image's registry is substituted strictly: an
	// unset variable of another host does not fail this pull.
	cfg, err := loadSelected(o.configPath, strings.NewReader(""), !o.global.noEnvsubst, selection{keys: []string{registryKey(registry)}})
	if err != nil {
		return err
	}
	resp, err := answerKubelet(cfg, req, o.global.timeout, time.Now)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(resp)
}

// readKubeletRequest reads and checks the request on stdin. Its errors
// never quote the request: it may hold a ServiceAccount token.
func readKubeletRequest(stdin io.Reader) (kubeletRequest, error) {
	var req kubeletRequest
	data, err := io.ReadAll(io.LimitReader(stdin, maxResponseBytes))
	if err != nil {
		return req, fmt.Errorf("read the kubelet's request: %w", err)
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return req, errors.New("the request on stdin is not a CredentialProviderRequest in JSON")
	}
	switch {
	case req.APIVersion != credentialProviderAPIVersion:
		return req, fmt.Errorf("request apiVersion %q: want %q", boundText(req.APIVersion, 80), credentialProviderAPIVersion)
	case req.Kind != credentialProviderRequest:
		return req, fmt.Errorf("request kind %q: want %q", boundText(req.Kind, 80), credentialProviderRequest)
	case req.Image == "":
		return req, errors.New("request has no image")
	}
	return req, nil
}

// imageRegistry is the registry of image, read as docker reads an image
// (go-containerregistry's rules): nginx and docker.io/library/nginx are
// index.docker.io's.
func imageRegistry(image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", boundText(image, 256), err)
	}
	return ref.Context().Registry.RegistryStr(), nil
}

// answerKubelet resolves the credential for req.image's registry.
func answerKubelet(cfg *config, req kubeletRequest, timeout time.Duration, now func() time.Time) (kubeletResponse, error) {
	resp := kubeletResponse{
		APIVersion:   credentialProviderAPIVersion,
		Kind:         credentialProviderResponse,
		CacheKeyType: cacheKeyRegistry,
		Auth:         map[string]kubeletAuthPair{},
	}
	registry, err := imageRegistry(req.Image)
	if err != nil {
		return resp, err
	}
	h, ok := cfg.hostForKey(registryKey(registry))
	if !ok {
		// Not ours: the kubelet goes on with other providers, or anonymously.
		return resp, nil
	}
	if err := checkKubeletHost(h); err != nil {
		return resp, fmt.Errorf("host %q: %w", h.Host, err)
	}
	var token string
	if isKubeletSource(h) {
		token = req.ServiceAccountToken
		if token == "" {
			return resp, fmt.Errorf("host %q: the kubelet sent no ServiceAccount token: its CredentialProviderConfig must give this provider tokenAttributes (flux-mirror kubelet-credential-provider --print-config writes them)", h.Host)
		}
		if h.Username == "" {
			h.Username = req.ServiceAccountAnnotations[kubeletUsernameAnnotation]
			if h.Username == "" {
				return resp, fmt.Errorf("host %q: no username: set username on the host, or annotate the pod's ServiceAccount with %s", h.Host, kubeletUsernameAnnotation)
			}
		}
	}
	mintedAt := now()
	r := resolveHostsWith([]hostConfig{h}, timeout, func(ctx context.Context, hc hostConfig) (hostAuth, error) {
		if token != "" {
			ctx = withKubeletToken(ctx, token)
		}
		return resolveHost(ctx, cfg, hc, now)
	})[0]
	if r.err != nil {
		return resp, fmt.Errorf("host %q: %w", h.Host, oneLineError(r.err))
	}
	// The key is the registry as the image names it, which the kubelet
	// matches against the image; index.docker.io serves every Docker Hub
	// spelling (the kubelet's keyring falls back to it).
	resp.Auth[registry] = kubeletAuthPair{Username: r.auth.Username, Password: r.auth.Password}
	resp.CacheDuration = kubeletCacheDuration(h, r.auth.ExpiresAt, mintedAt, now())
	return resp, nil
}

// checkKubeletHost refuses a host the kubelet cannot be given: its API
// carries a username and a password only, so a bearer registrytoken (a
// host without username) has no way through it. A kubelet-source host may
// take its username from the ServiceAccount instead.
func checkKubeletHost(h hostConfig) error {
	if h.bearerOnly() && !isKubeletSource(h) {
		return errors.New("the kubelet takes only a username and password: set username on this host to serve it to the kubelet")
	}
	return nil
}

// isKubeletSource reports whether h's credential is the pulling pod's
// ServiceAccount token.
func isKubeletSource(h hostConfig) bool {
	return h.Credential != nil && h.Credential.Provider == kubeletSource
}

// kubeletCacheDuration is how long the kubelet may keep a credential: up
// to its expiry less the margin the helper's cache keeps (reuseMargin)
// when the expiry is known; not at all ("0s") for one minted or signed
// without a known expiry; the provider's defaultCacheDuration ("") for a
// value written in the config or a file.
func kubeletCacheDuration(h hostConfig, expiresAt, mintedAt, now time.Time) string {
	if !expiresAt.IsZero() {
		d := expiresAt.Sub(now) - reuseMargin(mintedAt, expiresAt)
		return max(d, 0).Truncate(time.Second).String()
	}
	c := h.Credential
	if mintsToken(h) || c.JWKPath != "" || c.JWKValue != "" {
		return "0s"
	}
	return ""
}
