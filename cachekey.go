package main

// What a cache entry is keyed by: everything that decides which identity
// a mint would use. Two processes whose keys match would mint the same
// identity's token; any difference means a different entry, so one job's,
// one task's or one profile's token is never served to another. The list
// is taken from the sources the minting SDKs read (grep the module cache
// for os.Getenv in aws-sdk-go-v2/config, azidentity, MSAL, cloud.google.com
// /go/auth, fluxcd/pkg/auth, go-spiffe), and it is kept wide on purpose: a
// variable too many costs a mint, a variable too few serves the wrong
// identity. docs/helper.md "What the cache is keyed by" is this rule in
// prose.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// identityEnvPrefixes are the families of variables a minting source may
// read for its identity, its endpoints or its credential files: every
// variable that starts with one goes into the key, whatever it is.
func identityEnvPrefixes() []string {
	return []string{
		"AWS_",               // aws-sdk-go-v2/config: keys, profile, role, container credentials, endpoints
		"AZURE_",             // azidentity and fluxcd/pkg/auth: tenant, client, federated token, authority, CLI folder
		"AZURESUBSCRIPTION_", // azidentity's Azure Pipelines credential
		"IDENTITY_",          // azidentity / MSAL managed identity (App Service, Arc, Service Fabric)
		"MSI_",               // MSAL managed identity (older App Service, Cloud Shell)
		"IMDS_",              // MSAL managed identity (Arc's IMDS_ENDPOINT)
		"GOOGLE_",            // cloud.google.com/go/auth: credentials file, universe, external account
		"CLOUDSDK_",          // gcloud's config folder and account, read through the gcloud CLI
		"GCE_",               // compute/metadata: the metadata server's address
		"ACTIONS_ID_TOKEN_",  // the GitHub (and Forgejo, Gitea) Actions OIDC request URL and token
		"FORGEJO_",           // Forgejo Actions
		"GITEA_",             // Gitea Actions
		"SPIFFE_",            // go-spiffe: the Workload API socket
		"KUBERNETES_",        // in-cluster service account sources
	}
}

// identityEnvNames are single variables outside those families that
// decide which files the SDKs read: the home folder in its three spellings.
func identityEnvNames() []string {
	return []string{"HOME", "USERPROFILE", "APPDATA"}
}

// isIdentityEnv reports whether the variable name goes into the key.
func isIdentityEnv(name string) bool {
	if slices.Contains(identityEnvNames(), name) {
		return true
	}
	for _, p := range identityEnvPrefixes() {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// identityEnv is the sorted NAME=value list of environ's identity
// variables. An empty variable is kept: SDKs differ on empty versus unset.
func identityEnv(environ []string) []string {
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if isIdentityEnv(name) {
			env = append(env, kv)
		}
	}
	slices.Sort(env)
	return env
}

// credentialFiles are the files the minting SDKs read for an identity in
// an environment: the AWS shared files, every *_FILE, *_PATH and
// *_FILEPATH an identity variable names (AWS_WEB_IDENTITY_TOKEN_FILE,
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AZURE_FEDERATED_TOKEN_FILE,
// AZURE_CLIENT_CERTIFICATE_PATH...), GOOGLE_APPLICATION_CREDENTIALS and
// gcloud's well-known file, and the Azure CLI's account files. Their
// content is not read: their size, mtime and inode say when it changed.
func credentialFiles(getenv func(string) string, environ []string) []string {
	home := getenv("HOME")
	if home == "" {
		home = getenv("USERPROFILE")
	}
	or := func(name, fallback string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return fallback
	}
	files := []string{
		or("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, ".aws", "credentials")),
		or("AWS_CONFIG_FILE", filepath.Join(home, ".aws", "config")),
		getenv("GOOGLE_APPLICATION_CREDENTIALS"),
		// cloud.google.com/go/auth's well-known file, and gcloud's own.
		filepath.Join(home, ".config", "gcloud", "application_default_credentials.json"),
		filepath.Join(getenv("APPDATA"), "gcloud", "application_default_credentials.json"),
		filepath.Join(or("CLOUDSDK_CONFIG", filepath.Join(home, ".config", "gcloud")), "active_config"),
	}
	// The Azure CLI credential runs `az account get-access-token`, whose
	// identity is the account and cloud in these files; its token caches
	// change at every refresh and say nothing about who is logged in.
	azure := or("AZURE_CONFIG_DIR", filepath.Join(home, ".azure"))
	for _, name := range []string{"azureProfile.json", "clouds.config", "service_principal_entries.json", "service_principal_entries.bin"} {
		files = append(files, filepath.Join(azure, name))
	}
	for _, kv := range identityEnv(environ) {
		name, value, _ := strings.Cut(kv, "=")
		if value != "" && (strings.HasSuffix(name, "_FILE") || strings.HasSuffix(name, "_PATH") || strings.HasSuffix(name, "_FILEPATH")) {
			files = append(files, value)
		}
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// credentialFileStamps is each credential file with its stamp, or
// "missing": a file that appears, goes or changes changes the key.
func credentialFileStamps(files []string) []string {
	var stamps []string
	for _, path := range files {
		if path == "" {
			continue
		}
		// Stat follows links, as the SDKs do when they open the file.
		if fi, err := os.Stat(path); err == nil {
			stamps = append(stamps, path+"="+fileStamp(fi))
		} else {
			stamps = append(stamps, path+"=missing")
		}
	}
	return stamps
}

// cacheEntryName names h's entry: a hash of its registry key, so that
// erase and logout find every entry of a host, then a hash of everything
// that decides which identity a mint would use: the resolved credential
// spec, the config's path and stamp, the identity environment and the credential
// files it points at.
func cacheEntryName(h helperHost, env helperEnv) string {
	key := registryKey(h.host.Host)
	spec := struct {
		Key, Host, Username, Provider, Envelope, ConfigPath, ConfigStamp string
		Audiences                                                        []string
		Env, Files                                                       []string
	}{Key: key, Host: h.host.Host, Username: h.host.Username, Provider: h.host.Provider, ConfigPath: h.configPath}
	if c := h.host.Credential; c != nil {
		spec.Provider, spec.Envelope, spec.Audiences = c.Provider, c.Envelope, c.audiences(h.host.Host)
	}
	// The config file's stamp: an entry is one the full binary wrote after
	// loading this very config, which the small helper relies on (handoff.go).
	if fi, err := os.Stat(h.configPath); err == nil {
		spec.ConfigStamp = fileStamp(fi)
	}
	environ := env.environ()
	spec.Env = identityEnv(environ)
	spec.Files = credentialFileStamps(credentialFiles(env.getenv, environ))
	data, _ := json.Marshal(spec)
	identity := sha256.Sum256(data)
	return hostCachePrefix(key) + hex.EncodeToString(identity[:]) + ".json"
}

// hostCachePrefix starts the name of every cache entry of key.
func hostCachePrefix(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8]) + "-"
}
