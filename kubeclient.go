//go:build !smallhelper

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// kubeOptions are kubectl's connection flags, with kubectl's names and
// meaning, read by client-go's clientcmd exactly as kubectl reads them:
// $KUBECONFIG (a list of files, merged) or --kubeconfig, the context's
// cluster, user and namespace, exec credential plugins, and a Pod's
// in-cluster config when there is no kubeconfig at all.
type kubeOptions struct {
	kubeconfig     string
	context        string
	cluster        string
	user           string
	namespaces     stringsFlag
	server         string
	token          string
	as             string
	caFile         string
	insecure       bool
	requestTimeout string
}

// register adds the connection flags to fs.
func (k *kubeOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "")
	fs.StringVar(&k.context, "context", "", "")
	fs.StringVar(&k.cluster, "cluster", "", "")
	fs.StringVar(&k.user, "user", "", "")
	fs.Var(&k.namespaces, "namespace", "")
	fs.Var(&k.namespaces, "n", "")
	fs.StringVar(&k.server, "server", "", "")
	fs.StringVar(&k.token, "token", "", "")
	fs.StringVar(&k.as, "as", "", "")
	fs.StringVar(&k.caFile, "certificate-authority", "", "")
	fs.BoolVar(&k.insecure, "insecure-skip-tls-verify", false, "")
	fs.StringVar(&k.requestTimeout, "request-timeout", "0", "")
}

// check validates the flags clientcmd would only reject at connection
// time, so that they are usage errors like any other bad flag value.
func (k *kubeOptions) check() error {
	if _, err := parseRequestTimeout(k.requestTimeout); err != nil {
		return usagef("--request-timeout: %v", err)
	}
	for _, ns := range k.namespaces {
		if ns == "" {
			return usagef("--namespace must not be empty")
		}
	}
	return nil
}

// parseRequestTimeout reads --request-timeout as kubectl does: a duration
// with a unit, or a bare number of seconds; 0 means no timeout.
func parseRequestTimeout(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 30s or a number of seconds, got %q", s)
	}
	return d, nil
}

// clientConfig is the kubeconfig the flags and the environment name,
// loaded lazily: building it reads no file until it is asked for the
// namespace or the connection.
func (k *kubeOptions) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: k.context, Timeout: k.requestTimeout}
	overrides.Context.Cluster = k.cluster
	overrides.Context.AuthInfo = k.user
	overrides.ClusterInfo.Server = k.server
	overrides.ClusterInfo.CertificateAuthority = k.caFile
	overrides.ClusterInfo.InsecureSkipTLSVerify = k.insecure
	overrides.AuthInfo.Token = k.token
	overrides.AuthInfo.Impersonate = k.as
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// targetNamespaces are the -n flags, in order and without repeats, or the
// kubeconfig context's namespace (in a Pod, its ServiceAccount's).
func (k *kubeOptions) targetNamespaces(cc clientcmd.ClientConfig) ([]string, error) {
	if len(k.namespaces) > 0 {
		var out []string
		for _, ns := range k.namespaces {
			if !slices.Contains(out, ns) {
				out = append(out, ns)
			}
		}
		return out, nil
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, kubeconfigError(err)
	}
	return []string{ns}, nil
}

// coreClient connects to the API server the kubeconfig names. API server
// warnings are printed to stderr through the redaction rule rather than
// logged by klog.
func (k *kubeOptions) coreClient(cc clientcmd.ClientConfig, stderr io.Writer) (*corev1client.CoreV1Client, error) {
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, kubeconfigError(err)
	}
	cfg.UserAgent = "flux-mirror/" + version()
	cfg.WarningHandler = apiWarnings{stderr}
	client, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return client, nil
}

// kubeconfigError says what to do when there is no cluster to talk to;
// clientcmd's own text for that case names no flag.
func kubeconfigError(err error) error {
	if clientcmd.IsEmptyConfig(err) {
		return errors.New("no Kubernetes cluster configured: set --kubeconfig or KUBECONFIG, or run in a Pod")
	}
	return fmt.Errorf("kubeconfig: %w", err)
}

// apiWarnings prints the API server's Warning headers (deprecations,
// admission warnings) the way kubectl does, after the redaction rule.
type apiWarnings struct{ stderr io.Writer }

func (w apiWarnings) HandleWarningHeader(code int, agent, text string) {
	if code != 299 || text == "" {
		return
	}
	fmt.Fprintf(w.stderr, "⚠ the API server warns: %s\n", redactForeign(text, os.Environ()))
}

// silenceKlog stops client-go from logging to stderr behind our back
// (STYLE 10): klog writes there by default, and what it would say (a
// missing kubeconfig, an exec plugin's retry) reaches the user as an
// error of ours instead. klog's logger is process state; the program
// sets it once, before any client exists.
func silenceKlog() {
	klog.SetLogger(logr.Discard())
}
