//go:build tools

// Package tools pins the commands .ci/kube/build compiles, so that go mod
// tidy records their whole graph in go.sum.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/pkg/credentialprovider/plugin"
)
