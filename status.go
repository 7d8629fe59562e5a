package main

// flux-mirror status: read-only, for each host, where its credential is
// now, as docker and go-containerregistry would find it, and what, if
// anything, shadows it.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Statuses only status reports.
const (
	statusExpired = "expired"
	statusUnknown = "unknown"
)

const statusUsage = `Usage:
    flux-mirror status [-f PATH] [--host HOST]... [--docker-config DIR] [--check] [--min-valid DURATION] [-o text|json]
    flux-mirror status HOST [--docker-config DIR] [--check] [--min-valid DURATION] [-o text|json]

Show, for every host in the config (or each --host), where its credential
is now: the credential helper docker would ask, or config.json, or nothing;
its kind, username, fingerprint and expiry (a JWT's exp), and what shadows
it: DOCKER_AUTH_CONFIG, a registrytoken in config.json over a helper's
credential, or a credHelpers entry naming another helper. A helper is asked
with "get"; no secret is shown. Nothing is written, and no secret of the
config is needed.

Options:
    -f, --config PATH       Config file, or - for stdin.
                            Default: $FLUX_MIRROR_CONFIG, else <executable>.config.
    --host HOST             Show this host only; repeatable. Default: all hosts.
    --docker-config DIR     Docker config directory. Default: $DOCKER_CONFIG, else ~/.docker.
    --check                 Exit 1 when a host needs a login: nothing stored, expired, or
                            unknown (its helper could not be asked). A host without a
                            credential in the config is skipped.
    --min-valid DURATION    With --check (implied), also count a credential that expires
                            within DURATION (such as 10m) as needing a login.
    -o, --output FORMAT     text (default) or json (login's document shape).

Example:
    $ flux-mirror status -f hosts.yaml --host ghcr.io
    ✔ ghcr.io: stored via the "pass" credential helper: username/password (username robot), pbkdf2:1f2e3d4c
    $ flux-mirror status -f hosts.yaml --check --min-valid 10m || flux-mirror login -f hosts.yaml`

func runStatus(g globalOptions, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := loginOptions{global: g}
	fs := hostFlags("status", &o)
	_, hosts, err := o.parse(fs, args, statusUsage, true, stdin, stdout, stderr)
	if err != nil {
		return err
	}
	dir, err := dockerConfigDir(o.dockerConfig)
	if err != nil {
		return err
	}
	store, err := readDockerStore(dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.global.timeout)
	defer cancel()
	var envHosts map[string]bool
	if v := os.Getenv(authConfigEnv); v != "" {
		// An unreadable value shadows nothing docker can use; login warns
		// about it.
		envHosts, _ = envAuthHosts(v)
	}
	now := time.Now()
	reports := make([]hostReport, len(hosts))
	var needy []string
	for i, h := range hosts {
		if !h.hasCredential() && o.host == "" {
			reports[i] = hostReport{Host: h.Host, Key: registryKey(h.Host), Status: statusSkipped, Reason: reasonNoCredential}
			continue
		}
		reports[i] = store.status(ctx, h, envHosts, now)
		if o.needLogin || o.minValid > 0 {
			if why := needsLogin(reports[i], now, o.minValid); why != "" {
				reports[i].Reason = why
				needy = append(needy, fmt.Sprintf("%s (%s)", h.Host, why))
			}
		}
	}
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(jsonReport{Hosts: reports}); err != nil {
			return err
		}
	} else {
		printStatus(reports, now, stdout)
	}
	if len(needy) > 0 {
		fmt.Fprintf(stderr, "✗ a login is needed for %s\n", strings.Join(needy, ", "))
		return errReported
	}
	return nil
}

// needsLogin says why status --check counts r as needing a login, or ""
// when it does not: nothing stored, expired, unknown (a helper that could
// not be asked), or, with minValid, an expiry closer than that. A
// credential without a known expiry (a password) is valid for any
// minValid; one that something shadows still counts as stored.
func needsLogin(r hostReport, now time.Time, minValid time.Duration) string {
	switch r.Status {
	case statusNothing, statusExpired:
		return r.Status
	case statusUnknown:
		return "unknown: " + r.Error
	case statusStored:
		if left := r.ExpiresAt; minValid > 0 && left != nil && left.Sub(now) < minValid {
			return fmt.Sprintf("expires in %s, within --min-valid %s", formatDuration(left.Sub(now)), formatTimeout(minValid))
		}
	}
	return ""
}

// status finds host's credential as docker reads it
// (configfile.GetAuthConfig): the credHelpers entry's helper, else
// credsStore's, else the auths entry; a registrytoken in the auths entry
// wins over either in docker and go-containerregistry.
func (s *dockerStore) status(ctx context.Context, h hostConfig, envHosts map[string]bool, now time.Time) hostReport {
	host := h.Host
	key := registryKey(host)
	// The secret the config writes as it is: a helper whose failure
	// message repeats it has that message withheld. A minted one is not
	// minted here; redactForeign catches it by its shape.
	var known string
	if h.isLiteral() {
		known = h.Credential.Value
	}
	r := hostReport{Host: host, Key: key, ConfigFile: s.path, Status: statusNothing}
	entry := s.cfg.auths[key]
	var token string
	if raw, ok := entry["registrytoken"]; ok {
		_ = json.Unmarshal(raw, &token)
	}
	// The helpers docker would ask, in order; the second is asked only to
	// tell a credential in credsStore shadowed by a credHelpers entry.
	var helpers []string
	switch h, ok := s.cfg.credHelpers[key]; {
	case ok && h == "":
		// An empty credHelpers entry means config.json for this key.
	case ok:
		helpers = append(helpers, h)
		if s.cfg.credsStore != "" && s.cfg.credsStore != h {
			helpers = append(helpers, s.cfg.credsStore)
		}
	case s.cfg.credsStore != "":
		helpers = append(helpers, s.cfg.credsStore)
	}
	var username, secret string
	for i, helper := range helpers {
		u, p, found, err := getWithHelper(ctx, helper, key, known)
		if err != nil {
			r.Helper, r.Status, r.Error = helper, statusUnknown, oneLineError(err).Error()
			return r
		}
		if !found {
			continue
		}
		r.Helper, username, secret = helper, u, p
		if i > 0 {
			// Found in credsStore, but the credHelpers entry's helper,
			// which holds nothing, is the one asked.
			r.ShadowedBy = fmt.Sprintf("credHelpers entry %q", helpers[0])
		}
		break
	}
	if r.Helper == "" && len(helpers) == 0 {
		if raw, ok := entry["auth"]; ok {
			var auth string
			_ = json.Unmarshal(raw, &auth)
			// parseDockerConfig has checked the encoding.
			decoded, _ := base64.StdEncoding.DecodeString(auth)
			username, secret, _ = strings.Cut(string(decoded), ":")
		}
	}
	switch {
	case secret != "" || username != "":
		r.Kind, r.Username = kindUserPass, username
		if token != "" && r.ShadowedBy == "" {
			r.ShadowedBy = "registrytoken in " + s.path
		}
	case token != "":
		r.Helper, r.Kind, secret = "", kindRegistryToken, token
	default:
		r.Helper = ""
		if envShadows(envHosts, host) {
			r.ShadowedBy = authConfigEnv
		}
		return r
	}
	if envShadows(envHosts, host) {
		// docker 28.3+ reads the variable before anything in the file.
		r.ShadowedBy = authConfigEnv
	}
	r.Status = statusStored
	if secret != "" {
		r.Fingerprint = fingerprint(secret)
		if c := decodeClaims(secret); c != nil && c.ExpiresAt != nil {
			r.ExpiresAt = c.ExpiresAt
			if !c.ExpiresAt.After(now) {
				r.Status = statusExpired
			}
		}
	}
	return r
}

// printStatus prints one line per host on stdout.
func printStatus(reports []hostReport, now time.Time, stdout io.Writer) {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	for _, r := range reports {
		fmt.Fprintln(out, statusLine(r, now))
	}
}

// statusLine is a host's status line.
func statusLine(r hostReport, now time.Time) string {
	where := "in " + r.ConfigFile
	if r.Helper != "" {
		where = fmt.Sprintf("via the %q credential helper", r.Helper)
	}
	var line string
	switch r.Status {
	case statusSkipped:
		return fmt.Sprintf("• skipping %s: %s", r.Host, r.Reason)
	case statusUnknown:
		return fmt.Sprintf("⚠ %s: unknown %s: %s", r.Host, where, r.Error)
	case statusNothing:
		line = fmt.Sprintf("• nothing stored for %s", r.Host)
	default:
		mark := "✔"
		if r.Status == statusExpired || r.ShadowedBy != "" {
			mark = "⚠"
		}
		kind := r.Kind
		if r.Username != "" {
			kind += " (username " + r.Username + ")"
		}
		line = fmt.Sprintf("%s %s: %s %s: %s, %s", mark, r.Host, r.Status, where, kind, r.Fingerprint)
		switch {
		case r.ExpiresAt == nil:
		case r.Status == statusExpired:
			line += fmt.Sprintf(", expired %s ago", formatDuration(now.Sub(*r.ExpiresAt)))
		default:
			line += fmt.Sprintf(", expires in %s", formatDuration(r.ExpiresAt.Sub(now)))
		}
	}
	if r.ShadowedBy != "" {
		line += "; shadowed by " + r.ShadowedBy
	}
	return line
}
