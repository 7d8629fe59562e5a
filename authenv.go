package main

// DOCKER_AUTH_CONFIG: docker 28.3 and later read credentials from this
// variable before config.json and any credential helper (docker/cli
// cli/config/memorystore), so an entry there for a host shadows whatever
// login stores for it. go-containerregistry and helm ignore it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// authConfigEnv is the variable's name.
const authConfigEnv = "DOCKER_AUTH_CONFIG"

// envAuthHosts reads a DOCKER_AUTH_CONFIG value, {"auths": {key: {...}}}
// and nothing else (docker refuses any other field), and returns the
// hostnames its entries are for. Its error never quotes the value: it holds
// secrets.
func envAuthHosts(value string) (map[string]bool, error) {
	var doc struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	dec := json.NewDecoder(strings.NewReader(value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, errors.New(`not a JSON document {"auths": {...}}`)
	}
	hosts := map[string]bool{}
	for key := range doc.Auths {
		hosts[keyHostname(key)] = true
	}
	return hosts, nil
}

// keyHostname is the hostname (with port) a registry key names: docker
// matches "https://ghcr.io/v2/" and "ghcr.io" alike
// (registry.ConvertToHostname).
func keyHostname(key string) string {
	key = strings.ToLower(key)
	key = strings.TrimPrefix(key, "https://")
	key = strings.TrimPrefix(key, "http://")
	host, _, _ := strings.Cut(key, "/")
	return host
}

// envShadows reports whether the entries of DOCKER_AUTH_CONFIG include one
// for host.
func envShadows(envHosts map[string]bool, host string) bool {
	return envHosts[keyHostname(registryKey(host))] || envHosts[keyHostname(host)]
}

// warnAuthConfigEnv prints a warning on stderr for each host that
// DOCKER_AUTH_CONFIG shadows, or one when the variable cannot be read.
func warnAuthConfigEnv(value string, hosts []string, stderr io.Writer) {
	if value == "" {
		return
	}
	envHosts, err := envAuthHosts(value)
	if err != nil {
		fmt.Fprintf(stderr, "⚠ %s is set but cannot be read (%s); docker 28.3+ reads credentials from it before config.json and credential helpers\n", authConfigEnv, err)
		return
	}
	var b bytes.Buffer
	for _, h := range hosts {
		if envShadows(envHosts, h) {
			fmt.Fprintf(&b, "⚠ %s has an entry for %s: docker 28.3+ uses it instead of what login stores\n", authConfigEnv, h)
		}
	}
	stderr.Write(b.Bytes())
}
