package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// This file holds every rule about what login and logout print. A secret is
// never printed: only its fingerprint, and a JWT's claims, which the
// registry reads in the clear anyway.

// hostReport is what a run says about one host, as text or as JSON.
type hostReport struct {
	Host string `json:"host"`
	// Status is one of: stored, would store, erased, not stored, skipped,
	// failed; for status also expired, nothing stored and unknown.
	Status     string `json:"status"`
	Key        string `json:"key,omitempty"`
	Source     string `json:"source,omitempty"`
	SourcePath string `json:"sourcePath,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Username   string `json:"username,omitempty"`
	Helper     string `json:"helper,omitempty"`
	ConfigFile string `json:"configFile,omitempty"`
	// Secrets are, for secret, the namespace/name of each Secret the
	// credential is written to.
	Secrets     []string     `json:"secrets,omitempty"`
	ExpiresAt   *time.Time   `json:"expiresAt,omitempty"`
	Fingerprint string       `json:"fingerprint,omitempty"`
	Claims      *tokenClaims `json:"claims,omitempty"`
	// Verify is what login --verify found: verified, or not verifiable
	// because the registry allows anonymous access.
	Verify string `json:"verify,omitempty"`
	// ShadowedBy is, for status, what clients use instead of the stored
	// credential.
	ShadowedBy string `json:"shadowedBy,omitempty"`
	// Reason says why a host was skipped, or why status --check counts
	// it as needing a login; a skip is not an error.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Kinds of stored credential.
const (
	kindUserPass      = "username/password"
	kindRegistryToken = "registry token"
)

// Statuses of a host in a report.
const (
	statusStored     = "stored"
	statusWouldStore = "would store"
	statusErased     = "erased"
	statusNotStored  = "not stored"
	statusNothing    = "nothing stored"
	statusSkipped    = "skipped"
	statusFailed     = "failed"
	// statusUnchanged is a login that found config.json holding exactly
	// the entry it would write; statusRegistered is login --helper's,
	// which stores no credential.
	statusUnchanged  = "unchanged"
	statusRegistered = "registered"
)

// reasonNoCredential is why a host with only tls or maxChunkSize is skipped.
const reasonNoCredential = "no credential configured"

// newHostReport describes h and, once resolved, its credential a.
func newHostReport(cfg *config, h hostConfig, a hostAuth) hostReport {
	r := hostReport{Host: h.Host, Key: registryKey(h.Host)}
	switch c := h.Credential; {
	case h.Provider != "":
		r.Source = "provider " + h.Provider
	case c == nil:
	case c.Value != "":
		r.Source = "value"
	case c.FromPath != "":
		r.Source, r.SourcePath = "fromPath", filepath.Join(cfg.dir, c.FromPath)
	case c.JWKPath != "":
		r.Source, r.SourcePath = "jwkPath", filepath.Join(cfg.dir, c.JWKPath)
	case c.JWKValue != "":
		r.Source = "jwkValue"
	case c.Provider != "":
		r.Source = "credential provider " + c.Provider
	}
	secret := a.Password
	if a.RegistryToken != "" {
		r.Kind, secret = kindRegistryToken, a.RegistryToken
	} else if a.Username != "" {
		r.Kind, r.Username = kindUserPass, a.Username
	}
	if secret != "" {
		r.Claims = decodeClaims(secret)
	}
	if !a.ExpiresAt.IsZero() {
		t := a.ExpiresAt.UTC()
		r.ExpiresAt = &t
	}
	return r
}

// tokenClaims are the claims of a JWT-shaped credential, decoded without
// verification, for --dry-run and JSON output.
type tokenClaims struct {
	Issuer    string     `json:"iss,omitempty"`
	Subject   string     `json:"sub,omitempty"`
	Audience  []string   `json:"aud,omitempty"`
	ExpiresAt *time.Time `json:"exp,omitempty"`
	IssuedAt  *time.Time `json:"iat,omitempty"`
	// STS is the request an aws envelope carries (docs/sources.md, "aws").
	STS *stsClaims `json:"sts,omitempty"`
}

// stsClaims describe the signed GetCallerIdentity request of an aws
// envelope. The Authorization header itself is not shown: with the body it
// is the replayable part.
type stsClaims struct {
	Method        string   `json:"method"`
	URL           string   `json:"url"`
	SignedHeaders []string `json:"signedHeaders"`
}

// decodeClaims reads the claims of a JWT or aws envelope, or returns nil
// when token is not one.
func decodeClaims(token string) *tokenClaims {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil
	}
	var raw struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp *json.Number    `json:"exp"`
		Iat *json.Number    `json:"iat"`
		STS *struct {
			Method  string              `json:"method"`
			URL     string              `json:"url"`
			Headers map[string][]string `json:"headers"`
		} `json:"sts"`
	}
	if !decodeSegment(parts[1], &raw) {
		return nil
	}
	c := &tokenClaims{Issuer: raw.Iss, Subject: raw.Sub, ExpiresAt: numericDate(raw.Exp), IssuedAt: numericDate(raw.Iat)}
	// aud is a string or an array of strings (RFC 7519 section 4.1.3).
	var one string
	if json.Unmarshal(raw.Aud, &one) == nil {
		c.Audience = []string{one}
	} else {
		_ = json.Unmarshal(raw.Aud, &c.Audience)
	}
	if raw.STS != nil {
		c.STS = &stsClaims{Method: raw.STS.Method, URL: raw.STS.URL, SignedHeaders: signedHeaders(raw.STS.Headers["Authorization"])}
	}
	return c
}

// signedHeaders returns the SignedHeaders list of a SigV4 Authorization
// header: "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=a;b, Signature=...".
func signedHeaders(authorization []string) []string {
	for _, v := range authorization {
		for _, field := range strings.Split(v, ",") {
			if list, ok := strings.CutPrefix(strings.TrimSpace(field), "SignedHeaders="); ok {
				return strings.Split(list, ";")
			}
		}
	}
	return nil
}

// numericDate reads a claim's NumericDate, or returns nil when it is not
// one RFC 3339 (and so JSON) can write: a millisecond epoch, a common
// issuer bug, is past year 9999. Such a claim is left out of the report
// rather than failing it after the credential is stored, as jwtExpiry
// leaves it out of the expiry.
func numericDate(n *json.Number) *time.Time {
	if n == nil {
		return nil
	}
	f, err := n.Float64()
	if err != nil || f < minNumericDate || f > maxNumericDate {
		return nil
	}
	t := time.Unix(int64(f), 0).UTC()
	return &t
}

// hostReports describes each resolved host, for login and secret; failed
// is true when any host failed to resolve.
func hostReports(cfg *config, results []hostResult) ([]hostReport, bool) {
	reports := make([]hostReport, len(results))
	failed := false
	for i, r := range results {
		reports[i] = newHostReport(cfg, r.host, r.auth)
		switch {
		case r.err != nil:
			reports[i].Status, reports[i].Error = statusFailed, oneLineError(r.err).Error()
			failed = true
		case r.skipped:
			reports[i].Status, reports[i].Reason = statusSkipped, reasonNoCredential
		}
	}
	return reports, failed
}

// printText prints the report lines (docs/login.md, "Output"): one line
// per host on stdout, failures as ✗ lines on stderr. dryRun adds the audit
// details.
func printText(reports []hostReport, dryRun bool, now time.Time, stdout, stderr io.Writer) {
	// One write for the run's lines rather than one per host, flushed
	// before each ✗ line so that a terminal shows them in host order.
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	for _, r := range reports {
		switch r.Status {
		case statusFailed, statusNotStored:
			out.Flush()
			fmt.Fprintln(stderr, failureLine(r))
			continue
		}
		fmt.Fprintln(out, reportLine(r, now))
		if dryRun && r.Status == statusWouldStore {
			printDetails(out, r)
		}
	}
}

// failureLine is a failed host's ✗ line; r.Error is one line (see
// oneLineError).
func failureLine(r hostReport) string {
	return fmt.Sprintf("✗ host %q: %s", r.Host, r.Error)
}

// reportLine is a host's one-line summary.
func reportLine(r hostReport, now time.Time) string {
	var line string
	where := "in " + r.ConfigFile
	if r.Helper != "" {
		where = fmt.Sprintf("via the %q credential helper", r.Helper)
	}
	if len(r.Secrets) > 0 {
		where = "in secret " + strings.Join(r.Secrets, ", ")
	}
	switch r.Status {
	case statusSkipped:
		return fmt.Sprintf("• skipping %s: %s", r.Host, r.Reason)
	case statusNothing:
		return fmt.Sprintf("• nothing stored for %s", r.Host)
	case statusErased:
		if r.Helper == "" {
			where = "from " + r.ConfigFile
		}
		return fmt.Sprintf("✔ erased credential for %s %s", r.Host, where)
	case statusRegistered:
		return fmt.Sprintf("✔ registered the %q credential helper for %s in %s", r.Helper, r.Host, r.ConfigFile)
	case statusUnchanged:
		what := "credential"
		if r.Kind == kindRegistryToken {
			what = "registry token"
		}
		line = fmt.Sprintf("✔ unchanged %s for %s %s", what, r.Host, where)
	case statusWouldStore:
		what := "credential"
		if r.Kind == kindRegistryToken {
			what = "registry token"
		}
		line = fmt.Sprintf("• would store %s for %s %s", what, r.Host, where)
	default:
		if r.Kind == kindRegistryToken {
			line = fmt.Sprintf("✔ stored registry token for %s %s", r.Host, where)
		} else {
			line = fmt.Sprintf("✔ stored credential for %s %s", r.Host, where)
		}
	}
	if r.ExpiresAt != nil {
		line += fmt.Sprintf(" (expires in %s)", formatDuration(r.ExpiresAt.Sub(now)))
	}
	if r.Verify != "" {
		line += " (" + r.Verify + ")"
	}
	return line
}

// printDetails prints the --dry-run audit of one host, indented under its
// line.
func printDetails(w io.Writer, r hostReport) {
	row := func(name, value string) { fmt.Fprintf(w, "    %-12s %s\n", name, value) }
	row("key", r.Key)
	source := r.Source
	if r.SourcePath != "" {
		source += " " + r.SourcePath
	}
	row("source", source)
	kind := r.Kind
	if r.Username != "" {
		kind += " (username " + r.Username + ")"
	}
	row("stored as", kind)
	row("secret", r.Fingerprint)
	if c := r.Claims; c != nil {
		var claims []string
		add := func(k, v string) {
			if v != "" {
				claims = append(claims, k+"="+v)
			}
		}
		add("iss", c.Issuer)
		add("sub", c.Subject)
		add("aud", strings.Join(c.Audience, ","))
		if c.ExpiresAt != nil {
			add("exp", c.ExpiresAt.Format(time.RFC3339))
		}
		if c.IssuedAt != nil {
			add("iat", c.IssuedAt.Format(time.RFC3339))
		}
		row("claims", strings.Join(claims, " "))
		if c.STS != nil {
			row("sts", fmt.Sprintf("%s %s signed %s", c.STS.Method, c.STS.URL, strings.Join(c.STS.SignedHeaders, ";")))
		}
	}
}

// jsonReport is the document -o json prints.
type jsonReport struct {
	DryRun bool         `json:"dryRun,omitempty"`
	Hosts  []hostReport `json:"hosts"`
}

// printJSON prints one JSON document for the whole run on stdout; failures
// are also printed as ✗ lines on stderr, so a script's log shows them.
func printJSON(reports []hostReport, dryRun bool, stdout, stderr io.Writer) error {
	for _, r := range reports {
		if r.Status == statusFailed || r.Status == statusNotStored {
			fmt.Fprintln(stderr, failureLine(r))
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonReport{DryRun: dryRun, Hosts: reports})
}

// oneLineError puts a host's error on the one line its failure gets on
// stderr and in JSON, under the rule of redact.go for the text of SDKs,
// servers and helpers it quotes: every host failure passes through here.
// An SDK's error is first made short (translateSDKError); other lines are
// joined with "; ".
func oneLineError(err error) error {
	text := err.Error()
	text = translateSDKError(err, text)
	text = controllerWords.Replace(text)
	if strings.Contains(text, "\n") {
		var lines []string
		for line := range strings.Lines(text) {
			if line = strings.TrimSpace(line); line != "" {
				lines = append(lines, line)
			}
		}
		text = strings.Join(lines, "; ")
	}
	return errors.New(redactForeign(text, os.Environ()))
}
