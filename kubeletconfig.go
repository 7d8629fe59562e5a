//go:build !smallhelper

package main

// kubelet-credential-provider --print-config: the kubelet's
// CredentialProviderConfig for a flux-mirror config, checked first.
// https://kubernetes.io/docs/reference/config-api/kubelet-config.v1/#kubelet-config-k8s-io-v1-CredentialProviderConfig

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

const (
	kubeletConfigAPIVersion = "kubelet.config.k8s.io/v1"
	// kubeletProviderName is the provider of the hosts the node's
	// identity or the config serves; the kubelet runs
	// <bin dir>/<provider name>, so it is also the binary's name there.
	kubeletProviderName = "flux-mirror"
	// kubeletSAProviderName is the provider of the kubelet-source hosts.
	// It is a provider of its own because tokenAttributes make the kubelet
	// ask the API server for a token at every pull of every image the
	// provider matches, and key its cache by that token: the other hosts
	// need neither. Its binary is flux-mirror too, under this name.
	kubeletSAProviderName = "flux-mirror-serviceaccount"
	// kubeletDefaultCacheDuration is how long the kubelet keeps a value
	// written in the config: an edit of the config reaches pulls within it.
	kubeletDefaultCacheDuration = "5m"
	// kubeletPluginTimeout bounds resolution below the minute after which
	// the kubelet kills a plugin, so that a slow identity endpoint ends in
	// an error that names the host rather than in a kill.
	kubeletPluginTimeout = "50s"
	// tokenCacheType keys the kubelet's cache by the ServiceAccount token:
	// the only cache type the kubelet allows when the token itself comes
	// back as the password.
	tokenCacheType = "Token"
)

// kubeletConfig is kubelet.config.k8s.io/v1 CredentialProviderConfig.
type kubeletConfig struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Providers  []kubeletProvider `json:"providers"`
}

type kubeletProvider struct {
	Name                 string                  `json:"name"`
	MatchImages          []string                `json:"matchImages"`
	DefaultCacheDuration string                  `json:"defaultCacheDuration"`
	APIVersion           string                  `json:"apiVersion"`
	Args                 []string                `json:"args"`
	TokenAttributes      *kubeletTokenAttributes `json:"tokenAttributes,omitempty"`
}

type kubeletTokenAttributes struct {
	ServiceAccountTokenAudience          string   `json:"serviceAccountTokenAudience"`
	CacheType                            string   `json:"cacheType"`
	RequireServiceAccount                bool     `json:"requireServiceAccount"`
	RequiredServiceAccountAnnotationKeys []string `json:"requiredServiceAccountAnnotationKeys,omitempty"`
}

// printKubeletConfig checks that every host with a credential can be
// served to the kubelet and prints the CredentialProviderConfig, YAML with
// a comment that says how the kubelet is pointed at it.
func printKubeletConfig(o kubeletOptions, stdout, stderr io.Writer) error {
	path, err := configPath(o.configPath, os.Getenv, os.Executable)
	if err != nil {
		return err
	}
	if path, err = filepath.Abs(path); err != nil {
		return err
	}
	binDir, err := filepath.Abs(o.binDir)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(path, strings.NewReader(""), !o.global.noEnvsubst)
	if err != nil {
		return err
	}
	kc, err := kubeletConfigFor(cfg, path, o.global.noEnvsubst)
	if err != nil {
		return err
	}
	out, err := yaml.Marshal(kc)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range kc.Providers {
		names = append(names, filepath.Join(binDir, p.Name))
		if _, err := os.Stat(filepath.Join(binDir, p.Name)); err != nil {
			fmt.Fprintf(stderr, "• %s is not there yet: install flux-mirror under that name (a copy or a link)\n", filepath.Join(binDir, p.Name))
		}
	}
	fmt.Fprintf(stdout, "# The kubelet's image credential providers for %s, from\n", path)
	fmt.Fprintf(stdout, "# flux-mirror kubelet-credential-provider --print-config. Run the kubelet with\n")
	fmt.Fprintf(stdout, "#   --image-credential-provider-config=<this file> --image-credential-provider-bin-dir=%s\n", binDir)
	fmt.Fprintf(stdout, "# where each of %s is the flux-mirror binary (the name is the provider's).\n", strings.Join(names, ", "))
	_, err = stdout.Write(out)
	return err
}

// kubeletConfigFor builds the CredentialProviderConfig of cfg, whose file
// is at path, or says why a host cannot be served.
func kubeletConfigFor(cfg *config, path string, noEnvsubst bool) (kubeletConfig, error) {
	args := []string{"kubelet-credential-provider", "--config", path, "--timeout", kubeletPluginTimeout}
	if noEnvsubst {
		args = append(args, "--no-envsubst")
	}
	node := kubeletProvider{Name: kubeletProviderName}
	pod := kubeletProvider{Name: kubeletSAProviderName}
	var audiences []string
	needAnnotation := false
	var errs []error
	for _, h := range cfg.Hosts {
		if !h.hasCredential() {
			continue
		}
		if err := checkKubeletHost(h); err != nil {
			errs = append(errs, fmt.Errorf("host %q: %w", h.Host, err))
			continue
		}
		p := &node
		if isKubeletSource(h) {
			p = &pod
			if aud := h.Credential.audiences(h.Host)[0]; !slices.Contains(audiences, aud) {
				audiences = append(audiences, aud)
			}
			needAnnotation = needAnnotation || h.Username == ""
		}
		for _, m := range kubeletMatchImages(h.Host) {
			if !slices.Contains(p.MatchImages, m) {
				p.MatchImages = append(p.MatchImages, m)
			}
		}
	}
	if len(audiences) > 1 {
		// One provider asks for one audience (tokenAttributes).
		errs = append(errs, fmt.Errorf("the hosts with provider %s ask for ServiceAccount tokens for %d audiences (%s): the kubelet asks for one; set the same aud on each",
			kubeletSource, len(audiences), strings.Join(audiences, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return kubeletConfig{}, err
	}
	kc := kubeletConfig{APIVersion: kubeletConfigAPIVersion, Kind: "CredentialProviderConfig"}
	for _, p := range []kubeletProvider{node, pod} {
		if len(p.MatchImages) == 0 {
			continue
		}
		p.DefaultCacheDuration, p.APIVersion, p.Args = kubeletDefaultCacheDuration, credentialProviderAPIVersion, args
		kc.Providers = append(kc.Providers, p)
	}
	if len(pod.MatchImages) > 0 {
		attrs := &kubeletTokenAttributes{ServiceAccountTokenAudience: audiences[0], CacheType: tokenCacheType, RequireServiceAccount: true}
		if needAnnotation {
			// Without the annotation there is no username: the kubelet
			// then does not run the plugin at all for the pod.
			attrs.RequiredServiceAccountAnnotationKeys = []string{kubeletUsernameAnnotation}
		}
		kc.Providers[len(kc.Providers)-1].TokenAttributes = attrs
	}
	if len(kc.Providers) == 0 {
		return kc, errors.New("config has no host with a credential to serve to the kubelet")
	}
	return kc, nil
}

// kubeletMatchImages are the kubelet matchImages of a config host. The
// kubelet normalizes an image before it matches it (nginx becomes
// docker.io/library/nginx), so a Docker Hub host matches docker.io too.
func kubeletMatchImages(host string) []string {
	host = strings.ToLower(host)
	if registryKey(host) == dockerHubKey && host != "docker.io" {
		return []string{"docker.io", host}
	}
	return []string{host}
}
