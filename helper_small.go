//go:build smallhelper

package main

// The small docker-credential-flux-mirror: `go build -tags smallhelper`
// leaves out every file that links a cloud SDK, fluxcd/pkg or grpc
// (mint.go, cloud.go, awsenvelope.go, sdkerrors.go, main_full.go) and puts
// these in their place. It runs the same helper code as the full binary;
// what needs an SDK it hands to the full binary (handoff.go).

import (
	"context"
	"os"
	"time"
)

// mintsInProcess is false: a minting source runs in the full binary.
const mintsInProcess = false

func main() {
	os.Exit(runCredentialHelper(os.Args[1:], osHelperEnv(), os.Stdin, os.Stdout, os.Stderr))
}

// registryLogin and mintToken are never reached: helperResolve hands every
// minting host to the full binary before resolving it.
func registryLogin(context.Context, string, string) (hostAuth, error) {
	return hostAuth{}, errHandOff
}

func mintToken(context.Context, string, []string, bool, time.Time) (string, time.Time, error) {
	return "", time.Time{}, errHandOff
}

// checkRegistryHost cannot run here: the shape of an ecr, acr or gar host
// is fluxcd/pkg/auth's to judge. A config with such a host is served here
// only from a cache entry the full binary wrote after loading this very
// config (its file's stamp is in the key); every other get of it is handed
// to the full binary, which checks it (needsFullBinary).
func checkRegistryHost(string, string) error { return nil }

// translateSDKError has no SDK error to translate here.
func translateSDKError(_ error, text string) string { return text }

// verifyTransport and verifyHosts are login --verify's, which the small
// helper does not run: it links no registry client, nor net/http.
func verifyTransport(func(string) string) (any, error) { return nil, errHandOff }

func verifyHosts(results []hostResult, _ time.Duration, _ any) ([]string, []error) {
	errs := make([]error, len(results))
	for i := range errs {
		errs[i] = errHandOff
	}
	return make([]string, len(results)), errs
}

// findClusterCommand knows no command: secret and the kubelet provider
// link client-go and an image reference parser, and are the full binary's.
func findClusterCommand(string) (clusterCommand, bool) { return clusterCommand{}, false }
