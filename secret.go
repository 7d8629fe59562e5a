//go:build !smallhelper

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

const secretUsage = `Usage:
    flux-mirror secret NAME [-f PATH] [--host HOST]... [-n NAMESPACE]... [--create | --force]
                            [--refresh-before DURATION] [--service-account SA] [--dry-run] [-o text|json]
                            [--export] [kubectl connection flags]

Resolve the credential of every host in the config (or of each --host) as
login does and write them all into one Secret of type
kubernetes.io/dockerconfigjson per namespace, for the kubelet, Flux and
go-containerregistry. Nothing is written unless every host resolved and
every Secret can be written. A Secret flux-mirror does not manage (no label
app.kubernetes.io/managed-by=flux-mirror) or of another type is refused.

Options:
    -f, --config PATH           Config file, or - for stdin.
                                Default: $FLUX_MIRROR_CONFIG, else <executable>.config.
    --host HOST                 Write this host only; repeatable. Default: all hosts.
    -n, --namespace NAMESPACE   Write the Secret in this namespace; repeatable.
                                Default: the kubeconfig context's, in a Pod its own.
    --create                    Fail if the Secret exists. Default: create or update.
    --force                     Take over a Secret flux-mirror does not manage, or replace
                                one of another type.
    --refresh-before DURATION   Do nothing, not even mint, while every Secret holds the same
                                hosts and expires later than now + DURATION.
    --service-account SA        Also list the Secret in this ServiceAccount's imagePullSecrets.
    --dry-run                   Resolve and check everything, the API server's checks included,
                                and show what would be written; write nothing.
    -o, --output FORMAT         text (default) or json.
    --export                    Print the Secret as YAML on stdout and contact no cluster.
                                The output holds the credential: keep it out of logs and Git.

Kubectl connection flags, read as kubectl reads them (and, in a Pod without
a kubeconfig, the Pod's ServiceAccount and namespace):
    --kubeconfig PATH           Kubeconfig file. Default: $KUBECONFIG, else ~/.kube/config.
    --context NAME              Kubeconfig context to use.
    --cluster NAME              Kubeconfig cluster to use.
    --user NAME                 Kubeconfig user to use.
    --server URL                The API server's address.
    --token TOKEN               Bearer token for the API server.
    --as USER                   User to impersonate.
    --certificate-authority PATH  CA certificates for the API server.
    --insecure-skip-tls-verify  Do not check the API server's certificate.
    --request-timeout DURATION  Bound each API request; 0 (default): no bound.

Example:
    $ flux-mirror secret regcreds -f hosts.yaml -n flux-system --refresh-before 1h
    ✔ stored credential for 123456789012.dkr.ecr.eu-west-1.amazonaws.com in secret flux-system/regcreds (expires in 12h)
    ✔ updated secret flux-system/regcreds`

// secretOptions are secret's parsed flags.
type secretOptions struct {
	login          loginOptions
	kube           kubeOptions
	name           string
	create         bool
	force          bool
	export         bool
	refreshBefore  time.Duration
	serviceAccount string
	// now is the clock; beforeWrite, when set, runs before each write
	// of a Secret: a test seam to race a writer.
	now         func() time.Time
	beforeWrite func(namespace string)
}

// secretFlags is secret's FlagSet, shared with completion.
func secretFlags(o *secretOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("secret", flag.ContinueOnError)
	o.login.registerConfig(fs)
	fs.BoolVar(&o.login.dryRun, "dry-run", false, "")
	o.kube.register(fs)
	fs.BoolVar(&o.create, "create", false, "")
	fs.BoolVar(&o.force, "force", false, "")
	fs.BoolVar(&o.export, "export", false, "")
	fs.DurationVar(&o.refreshBefore, "refresh-before", 0, "")
	fs.StringVar(&o.serviceAccount, "service-account", "", "")
	return fs
}

func runSecret(g globalOptions, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := secretOptions{login: loginOptions{global: g}, now: time.Now}
	if err := o.parse(secretFlags(&o), args, stdout); err != nil {
		return err
	}
	return o.run(stdin, stdout, stderr)
}

// parse parses the flags and the one NAME, which may come before, between
// or after them, as with kubectl.
func (o *secretOptions) parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	var names []string
	for {
		if err := parseFlags(fs, args, secretUsage, stdout); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(names) {
	case 0:
		return usagef("secret: the Secret's NAME is required")
	case 1:
	default:
		return usagef("secret: unexpected argument %q", names[1])
	}
	o.name = names[0]
	if msgs := validation.IsDNS1123Subdomain(o.name); len(msgs) > 0 {
		return usagef("secret: %q is not a valid Secret name: %s", o.name, strings.Join(msgs, "; "))
	}
	return o.check()
}

func (o *secretOptions) check() error {
	if err := o.login.check(); err != nil {
		return err
	}
	if err := o.kube.check(); err != nil {
		return err
	}
	if o.refreshBefore < 0 {
		return usagef("--refresh-before must not be negative")
	}
	if o.create && o.force {
		return usagef("--create and --force exclude each other")
	}
	if o.export {
		for flag, set := range map[string]bool{
			"--dry-run": o.login.dryRun, "--output json": o.login.output == "json", "--create": o.create,
			"--force": o.force, "--refresh-before": o.refreshBefore > 0, "--service-account": o.serviceAccount != "",
		} {
			if set {
				return usagef("--export contacts no cluster: it cannot be used with %s", flag)
			}
		}
	}
	if o.serviceAccount != "" {
		if msgs := validation.IsDNS1123Subdomain(o.serviceAccount); len(msgs) > 0 {
			return usagef("--service-account: %q is not a valid name: %s", o.serviceAccount, strings.Join(msgs, "; "))
		}
	}
	return nil
}

// run loads the hosts, reads the target Secrets, resolves every host as
// login does and writes the Secrets, all or nothing.
func (o *secretOptions) run(stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, hosts, err := o.login.loadHosts(stdin, stderr, false)
	if err != nil {
		return err
	}
	silenceKlog()
	cc := o.kube.clientConfig()
	namespaces, err := o.kube.targetNamespaces(cc)
	if err != nil {
		return err
	}
	if o.export {
		return o.runExport(cfg, hosts, namespaces, stdout, stderr)
	}
	client, err := o.kube.coreClient(cc, stderr)
	if err != nil {
		return err
	}
	w := &secretWriter{o: o, client: client}
	targets := make([]*secretTarget, len(namespaces))
	for i, ns := range namespaces {
		targets[i] = &secretTarget{namespace: ns, name: o.name}
	}

	// Read before minting: a Secret that is still fresh costs one GET per
	// namespace and no credential (the point of --refresh-before).
	if err := w.read(targets); err != nil {
		return err
	}
	if o.refreshBefore > 0 && w.allFresh(targets, credentialHosts(hosts)) {
		return o.print(nil, targets, stdout, stderr)
	}

	results := resolveHosts(cfg, hosts, o.login.global.timeout, o.now)
	reports, failed := hostReports(cfg, results)
	if failed {
		var failures []hostReport
		for _, r := range reports {
			if r.Status == statusFailed {
				failures = append(failures, r)
			}
		}
		return o.login.print(failures, stdout, stderr)
	}
	if !anyResolved(results) {
		// Every host was skipped: an empty Secret would pull nothing.
		return o.login.print(reports, stdout, stderr)
	}
	secret, err := newPullSecret(cfg, results)
	if err != nil {
		return err
	}
	for _, h := range secret.tokenHosts {
		fmt.Fprintf(stderr, "⚠ %s is written as a registrytoken, which the kubelet ignores (Flux and go-containerregistry read it): give the host a username for image pulls\n", h)
	}
	if o.login.dryRun || o.login.output == "json" {
		addFingerprints(reports, results)
	}

	writeErr := w.writeAll(targets, secret)
	refs := make([]string, len(targets))
	for i, t := range targets {
		refs[i] = secretRef(t.namespace, t.name)
	}
	for i := range reports {
		if results[i].skipped {
			continue
		}
		reports[i].Secrets = refs
		reports[i].Status = statusStored
		if o.login.dryRun {
			reports[i].Status = statusWouldStore
		}
		if writeErr != nil {
			// The hosts are only reported with the Secrets they went to.
			reports[i].Status = ""
		}
	}
	if err := o.print(reports, targets, stdout, stderr); err != nil {
		return err
	}
	return writeErr
}

// runExport resolves the hosts and prints one Secret manifest per
// namespace on stdout, without contacting a cluster. What else it has to
// say goes to stderr, so that stdout stays a manifest.
func (o *secretOptions) runExport(cfg *config, hosts []hostConfig, namespaces []string, stdout, stderr io.Writer) error {
	results := resolveHosts(cfg, hosts, o.login.global.timeout, o.now)
	reports, failed := hostReports(cfg, results)
	var notes []hostReport
	for _, r := range reports {
		if r.Status == statusFailed || r.Status == statusSkipped {
			notes = append(notes, r)
		}
	}
	if failed || !anyResolved(results) {
		return o.login.print(notes, stderr, stderr)
	}
	printText(notes, false, o.now(), stderr, stderr)
	secret, err := newPullSecret(cfg, results)
	if err != nil {
		return err
	}
	for _, h := range secret.tokenHosts {
		fmt.Fprintf(stderr, "⚠ %s is written as a registrytoken, which the kubelet ignores (Flux and go-containerregistry read it): give the host a username for image pulls\n", h)
	}
	var out bytes.Buffer
	for i, ns := range namespaces {
		doc, err := secretManifest(secret.apply(ns, o.name, nil))
		if err != nil {
			return err
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(doc)
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

// clusterContext bounds one phase of talking to the API server by
// --timeout, as resolution is bounded.
func (o *secretOptions) clusterContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), o.login.global.timeout)
}
