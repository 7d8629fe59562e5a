package main

import (
	"context"
	"errors"
)

// The kubelet credential source: the pulling pod's ServiceAccount token,
// which only the kubelet's request carries. The resolver reads it here, in
// every build (the small helper refuses it like login does); the plugin
// that receives it is kubeletprovider.go.

// kubeletSource is the credential source (credential.provider) that is
// the ServiceAccount token the kubelet puts in the request (KEP-4412,
// beta in Kubernetes 1.34).
const kubeletSource = "kubelet"

// kubeletUsernameAnnotation is the ServiceAccount annotation that gives
// the username of a kubelet-source host whose config sets none: the
// kubelet passes it in the request when the provider's tokenAttributes
// name it (--print-config does).
const kubeletUsernameAnnotation = "mirror.plugin.fluxcd.io/username"

// kubeletTokenKey carries the request's ServiceAccount token to the
// resolver on a context.
type kubeletTokenKey struct{}

func withKubeletToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, kubeletTokenKey{}, token)
}

// kubeletToken is the ServiceAccount token the kubelet sent. Outside the
// plugin there is none, and the source has nothing to give.
func kubeletToken(ctx context.Context) (string, error) {
	token, ok := ctx.Value(kubeletTokenKey{}).(string)
	if !ok || token == "" {
		return "", errors.New("the pod's ServiceAccount token exists only when the kubelet runs flux-mirror kubelet-credential-provider; login, the credential helper and secret cannot use this host (see docs/kubelet.md)")
	}
	return token, nil
}
