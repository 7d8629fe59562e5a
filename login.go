package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// hostAuth is a resolved credential, in the shape it is stored.
type hostAuth struct {
	// Username and Password are a username/password pair.
	Username string
	Password string
	// RegistryToken is a bearer token; it is stored only in config.json
	// because credential helpers hold username/secret pairs only.
	RegistryToken string
	// ExpiresAt is when the credential stops working; zero when unknown.
	ExpiresAt time.Time
}

// loginOptions are login's and logout's parsed flags.
type loginOptions struct {
	global       globalOptions
	configPath   string
	hosts        stringsFlag
	dockerConfig string
	plaintext    bool
	dryRun       bool
	verify       bool
	helper       bool
	output       string
	// host is the HOST argument of login, logout or status; username,
	// password and passwordStdin are login HOST's -u, -p and
	// --password-stdin.
	host          string
	username      string
	password      string
	passwordStdin bool
	// needLogin and minValid are status --check and --min-valid.
	needLogin bool
	minValid  time.Duration
}

// register adds the flags login and logout share.
func (o *loginOptions) register(fs *flag.FlagSet) {
	o.registerConfig(fs)
	fs.StringVar(&o.dockerConfig, "docker-config", "", "")
}

// registerConfig adds the flags of every command that reads the config's
// hosts: the global ones, -f, --host and -o.
func (o *loginOptions) registerConfig(fs *flag.FlagSet) {
	o.global.register(fs)
	fs.StringVar(&o.configPath, "config", "", "")
	fs.StringVar(&o.configPath, "f", "", "")
	fs.Var(&o.hosts, "host", "")
	fs.StringVar(&o.output, "output", "text", "")
	fs.StringVar(&o.output, "o", "text", "")
}

// parse parses and checks the flags, then loads the config and selects
// the hosts to work on; the loader's warnings go to stderr. namesOnly is
// for a command that needs no secret (see selection).
func (o *loginOptions) parse(fs *flag.FlagSet, args []string, usage string, namesOnly bool, stdin io.Reader, stdout, stderr io.Writer) (*config, []hostConfig, error) {
	var err error
	if o.host, err = parseWithHost(fs, args, usage, stdout); err != nil {
		return nil, nil, err
	}
	if err := o.check(); err != nil {
		return nil, nil, err
	}
	if fs.Name() == "login" {
		if err := o.checkOneHostFlags(); err != nil {
			return nil, nil, err
		}
	}
	if o.host != "" {
		cfg, err := o.oneHost(stdin, stderr)
		if err != nil {
			return nil, nil, err
		}
		return cfg, cfg.Hosts, nil
	}
	return o.loadHosts(stdin, stderr, namesOnly)
}

// loadHosts loads the config the flags name and selects the hosts to work
// on, printing the loader's warnings: the step every command that reads
// hosts shares once its flags are parsed. namesOnly is for a command that
// needs no secret (see selection).
func (o *loginOptions) loadHosts(stdin io.Reader, stderr io.Writer, namesOnly bool) (*config, []hostConfig, error) {
	sel := selection{hosts: o.hosts, namesOnly: namesOnly}
	cfg, err := loadSelected(o.configPath, stdin, !o.global.noEnvsubst, sel)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range cfg.warnings {
		fmt.Fprintln(stderr, "⚠ "+w)
	}
	hosts, err := selectHosts(cfg, o.hosts)
	return cfg, hosts, err
}

// openStore locks and loads the Docker config folder the flags name.
func (o *loginOptions) openStore() (*dockerStore, error) {
	dir, err := dockerConfigDir(o.dockerConfig)
	if err != nil {
		return nil, err
	}
	return openDockerStore(dir, o.global.timeout)
}

// readStore loads the Docker config folder the flags name without locking
// or creating anything, for --dry-run.
func (o *loginOptions) readStore() (*dockerStore, error) {
	dir, err := dockerConfigDir(o.dockerConfig)
	if err != nil {
		return nil, err
	}
	return readDockerStore(dir)
}

// check validates the flags once they are all parsed.
func (o *loginOptions) check() error {
	if err := o.global.check(); err != nil {
		return err
	}
	if o.output != "text" && o.output != "json" {
		return usagef("--output must be text or json, got %q", o.output)
	}
	if o.minValid < 0 {
		// A credential always has more than a negative time left: the
		// check it asks for would pass for any expiry, silently.
		return usagef("--min-valid must not be negative, got -%s", formatTimeout(-o.minValid))
	}
	if o.helper {
		return o.checkHelperLogin()
	}
	return nil
}

// hostFlags is the FlagSet of a command that reads the config's hosts
// (logout takes these flags alone), shared with completion.
func hostFlags(name string, o *loginOptions) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	o.register(fs)
	if name == "status" {
		// status's own flags, here so that completion offers them too.
		fs.BoolVar(&o.needLogin, "check", false, "")
		fs.DurationVar(&o.minValid, "min-valid", 0, "")
	}
	return fs
}

// loginFlags is login's FlagSet, shared with completion so that every flag
// added here completes too.
func loginFlags(o *loginOptions) *flag.FlagSet {
	fs := hostFlags("login", o)
	fs.BoolVar(&o.plaintext, "plaintext", false, "")
	fs.BoolVar(&o.dryRun, "dry-run", false, "")
	fs.BoolVar(&o.verify, "verify", false, "")
	fs.BoolVar(&o.helper, "helper", false, "")
	fs.StringVar(&o.username, "username", "", "")
	fs.StringVar(&o.username, "u", "", "")
	fs.StringVar(&o.password, "password", "", "")
	fs.StringVar(&o.password, "p", "", "")
	fs.BoolVar(&o.passwordStdin, "password-stdin", false, "")
	return fs
}

func runLogin(g globalOptions, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := loginOptions{global: g}
	fs := loginFlags(&o)
	cfg, hosts, err := o.parse(fs, args, loginUsage, false, stdin, stdout, stderr)
	if err != nil {
		return err
	}

	results := resolveHosts(cfg, hosts, o.global.timeout, time.Now)
	if o.helper {
		checkHelperResults(results)
	}
	reports, failed := hostReports(cfg, results)
	if !failed && o.verify {
		rt, err := verifyTransport(os.Getenv)
		if err != nil {
			return err
		}
		said, errs := verifyHosts(results, o.global.timeout, rt)
		for i := range results {
			if errs[i] != nil {
				reports[i].Status, reports[i].Error = statusFailed, oneLineError(errs[i]).Error()
				failed = true
			}
			reports[i].Verify = said[i]
		}
	}
	if !failed && (o.dryRun || o.output == "json") {
		addFingerprints(reports, results)
	}
	if failed {
		// Nothing is stored unless every host resolved (and, with
		// --verify, was accepted by its registry): report only the
		// failures.
		var failures []hostReport
		for _, r := range reports {
			if r.Status == statusFailed {
				failures = append(failures, r)
			}
		}
		return o.print(failures, stdout, stderr)
	}
	var storing []string
	for _, r := range results {
		if !r.skipped {
			storing = append(storing, r.host.Host)
		}
	}
	warnAuthConfigEnv(os.Getenv(authConfigEnv), storing, stderr)
	// Print what happened even when storing failed part way: a helper
	// may already hold a credential.
	var storeErr error
	if o.helper {
		storeErr = o.storeHelper(results, reports, stderr)
	} else {
		storeErr = storeResults(results, reports, o, stderr)
	}
	var happened []hostReport
	for _, r := range reports {
		if r.Status != "" {
			happened = append(happened, r)
		}
	}
	printErr := o.print(happened, stdout, stderr)
	if storeErr != nil {
		return storeErr
	}
	return printErr
}

// print prints the reports in the chosen format and turns a failed host
// into exit code 1.
func (o *loginOptions) print(reports []hostReport, stdout, stderr io.Writer) error {
	if o.output == "json" {
		if err := printJSON(reports, o.dryRun, stdout, stderr); err != nil {
			return err
		}
	} else {
		printText(reports, o.dryRun, time.Now(), stdout, stderr)
	}
	for _, r := range reports {
		if r.Status == statusFailed || r.Status == statusNotStored {
			return errReported
		}
	}
	return nil
}

// selectHosts returns the hosts named by --host, in flag order, or every
// host in config order.
func selectHosts(cfg *config, names []string) ([]hostConfig, error) {
	if len(cfg.Hosts) == 0 {
		return nil, fmt.Errorf("%sconfig has no hosts", prefix(cfg.file))
	}
	if len(names) == 0 {
		return cfg.Hosts, nil
	}
	var selected []hostConfig
	for _, name := range names {
		// Hosts are case-insensitive (RFC 4343) and stored in lower case.
		i := slices.IndexFunc(cfg.Hosts, func(h hostConfig) bool { return strings.EqualFold(h.Host, name) })
		if i < 0 {
			configured := make([]string, len(cfg.Hosts))
			for j, h := range cfg.Hosts {
				configured[j] = h.Host
			}
			return nil, fmt.Errorf("%shost %q not found in hosts (configured: %s)", prefix(cfg.file), name, strings.Join(configured, ", "))
		}
		selected = append(selected, cfg.Hosts[i])
	}
	return selected, nil
}

// hostResult is one host's resolution: a credential, a skip, or an error.
type hostResult struct {
	host    hostConfig
	auth    hostAuth
	skipped bool
	err     error
}

// resolveHosts resolves every host at once under one deadline, so a run
// costs its slowest host, not the sum of them. Results keep the hosts'
// order. The deadline holds even for a resolver that ignores its context
// (a library call or a shelled-out CLI that hangs): such a host is
// reported as timed out and left behind.
func resolveHosts(cfg *config, hosts []hostConfig, timeout time.Duration, now func() time.Time) []hostResult {
	return resolveHostsWith(hosts, timeout, func(ctx context.Context, h hostConfig) (hostAuth, error) {
		return resolveHost(ctx, cfg, h, now)
	})
}

// resolveHostsWith is resolveHosts with the resolver passed in, for tests.
func resolveHostsWith(hosts []hostConfig, timeout time.Duration, resolve func(context.Context, hostConfig) (hostAuth, error)) []hostResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type resolved struct {
		i    int
		auth hostAuth
		err  error
	}
	done := make(chan resolved, len(hosts))
	results := make([]hostResult, len(hosts))
	pending := map[int]bool{}
	for i, h := range hosts {
		results[i].host = h
		if !h.hasCredential() {
			results[i].skipped = true
			continue
		}
		if h.isLiteral() {
			// Nothing to wait for: a goroutine per host would cost more
			// than the host (bench/README.md has the budget).
			results[i].auth, results[i].err = resolve(ctx, h)
			continue
		}
		pending[i] = true
		go func() {
			auth, err := resolve(ctx, h)
			done <- resolved{i, auth, err}
		}()
	}
	timedOut := fmt.Errorf("not resolved within --timeout %s", formatTimeout(timeout))
	expired := ctx.Done()
	var grace <-chan time.Time
	for len(pending) > 0 {
		select {
		case r := <-done:
			delete(pending, r.i)
			if r.err != nil && ctx.Err() != nil {
				r.err = fmt.Errorf("%w: %w", timedOut, r.err)
			}
			results[r.i].auth, results[r.i].err = r.auth, r.err
		case <-expired:
			// Give resolvers that honour the context a moment to return
			// their own, more telling, error.
			expired, grace = nil, time.After(100*time.Millisecond)
		case <-grace:
			for i := range pending {
				results[i].err = timedOut
				delete(pending, i)
			}
		}
	}
	return results
}

func (r *hostReport) setDestination(d destination) {
	r.Helper, r.ConfigFile = d.Helper, d.Path
}

// formatTimeout prints a --timeout as the user would write it: 1m, 90s,
// 500ms.
func formatTimeout(d time.Duration) string {
	if d%time.Second != 0 {
		return d.String()
	}
	return formatDuration(d)
}

// formatDuration rounds d up to the second and drops zero units: 12h,
// 59m30s, 2m, 45s (time.Duration.String would print 12h0m0s). Rounding up
// keeps a 10m JWT, whose exp is whole seconds, from printing as 9m59s a
// moment after it was signed.
func formatDuration(d time.Duration) string {
	d = (d + time.Second - 1).Truncate(time.Second)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}
