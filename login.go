package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
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

// loginOptions are login's parsed flags.
type loginOptions struct {
	global       globalOptions
	configPath   string
	hosts        stringsFlag
	dockerConfig string
	plaintext    bool
}

func runLogin(g globalOptions, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := loginOptions{global: g}
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	o.global.register(fs)
	fs.StringVar(&o.configPath, "config", "", "")
	fs.StringVar(&o.configPath, "f", "", "")
	fs.Var(&o.hosts, "host", "")
	fs.StringVar(&o.dockerConfig, "docker-config", "", "")
	fs.BoolVar(&o.plaintext, "plaintext", false, "")
	if err := parseCommand(fs, args, loginUsage, stdout); err != nil {
		return err
	}
	if err := o.global.check(); err != nil {
		return err
	}

	cfg, err := loadConfig(o.configPath, stdin, !o.global.noEnvsubst)
	if err != nil {
		return err
	}
	hosts, err := selectHosts(cfg, o.hosts)
	if err != nil {
		return err
	}

	results := resolveHosts(cfg, hosts, o.global.timeout, time.Now)
	failed := false
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(stderr, "✗ host %q: %s\n", r.host.Host, r.err)
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return storeResults(results, o, stdout, stderr)
}

// selectHosts returns the hosts named by --host, in flag order, or every
// host in config order.
func selectHosts(cfg *config, names []string) ([]hostConfig, error) {
	if len(cfg.Hosts) == 0 {
		return nil, errors.New("config has no hosts")
	}
	if len(names) == 0 {
		return cfg.Hosts, nil
	}
	var selected []hostConfig
	for _, name := range names {
		i := cfg.hostIndex(name)
		if i < 0 {
			configured := make([]string, len(cfg.Hosts))
			for j, h := range cfg.Hosts {
				configured[j] = h.Host
			}
			return nil, fmt.Errorf("host %q not found in hosts (configured: %s)", name, strings.Join(configured, ", "))
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
// costs its slowest host, not the sum of them. Results keep the hosts' order.
func resolveHosts(cfg *config, hosts []hostConfig, timeout time.Duration, now func() time.Time) []hostResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	results := make([]hostResult, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		results[i].host = h
		if !h.hasCredential() {
			results[i].skipped = true
			continue
		}
		wg.Go(func() {
			auth, err := resolveHost(ctx, cfg, h, now)
			if err != nil && ctx.Err() != nil {
				err = fmt.Errorf("not resolved within --timeout %s: %w", formatDuration(timeout), err)
			}
			results[i].auth, results[i].err = auth, err
		})
	}
	wg.Wait()
	return results
}

// storeResults stores every resolved credential in one Docker config
// write and prints a line per host. A host that fails to store stops the
// run; the hosts stored before it are still written.
func storeResults(results []hostResult, o loginOptions, stdout, stderr io.Writer) error {
	var store *dockerStore
	for _, r := range results {
		if !r.skipped {
			dir, err := dockerConfigDir(o.dockerConfig)
			if err != nil {
				return err
			}
			if store, err = openDockerStore(dir); err != nil {
				return err
			}
			break
		}
	}
	if store == nil {
		// Every host was skipped: nothing to write, no file to create.
		for _, r := range results {
			fmt.Fprintf(stdout, "• skipping %s: no credential configured\n", r.host.Host)
		}
		return nil
	}
	defer store.close()

	ctx, cancel := context.WithTimeout(context.Background(), o.global.timeout)
	defer cancel()
	var failedHost string
	for _, r := range results {
		switch {
		case failedHost != "":
			fmt.Fprintf(stderr, "✗ host %q: not stored: host %q failed before it\n", r.host.Host, failedHost)
		case r.skipped:
			fmt.Fprintf(stdout, "• skipping %s: no credential configured\n", r.host.Host)
		default:
			dest, err := store.store(ctx, r.host.Host, r.auth, o.plaintext)
			if err != nil {
				fmt.Fprintf(stderr, "✗ host %q: %s\n", r.host.Host, err)
				failedHost = r.host.Host
				continue
			}
			fmt.Fprintln(stdout, storedLine(r.host.Host, r.auth, dest, time.Now()))
		}
	}
	if err := store.save(); err != nil {
		return err
	}
	if failedHost != "" {
		return errReported
	}
	return nil
}

// storedLine is the success line for a stored host (SPEC 6.8).
func storedLine(host string, a hostAuth, dest destination, now time.Time) string {
	var line string
	switch {
	case a.RegistryToken != "":
		line = fmt.Sprintf("✔ stored registry token for %s in %s", host, dest.Path)
	case dest.Helper != "":
		line = fmt.Sprintf("✔ stored credential for %s via the %q credential helper", host, dest.Helper)
	default:
		line = fmt.Sprintf("✔ stored credential for %s in %s", host, dest.Path)
	}
	if !a.ExpiresAt.IsZero() {
		line += fmt.Sprintf(" (expires in %s)", formatDuration(a.ExpiresAt.Sub(now)))
	}
	return line
}

// formatDuration rounds d to the second and drops zero units: 12h, 59m30s,
// 2m, 45s. time.Duration.String would print 12h0m0s.
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
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
