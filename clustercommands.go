//go:build !smallhelper

package main

import "flag"

// findClusterCommand returns the command that takes credentials into
// Kubernetes named name: secret (secret.go) or kubelet-credential-provider
// (kubeletprovider.go). The small helper's build has none (helper_small.go).
func findClusterCommand(name string) (clusterCommand, bool) {
	switch name {
	case "secret":
		return clusterCommand{runSecret, secretUsage, func(g globalOptions) *flag.FlagSet {
			return secretFlags(&secretOptions{login: loginOptions{global: g}})
		}}, true
	case "kubelet-credential-provider":
		return clusterCommand{runKubeletProvider, kubeletUsage, func(g globalOptions) *flag.FlagSet {
			return kubeletFlags(&kubeletOptions{global: g})
		}}, true
	}
	return clusterCommand{}, false
}
