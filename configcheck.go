package main

// The rules for a decoded hosts[] entry (docs/config.md, "hosts[]" and
// "credential"), with the field names of its config version.

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// dialect is how a config version spells what differs between versions,
// so that an error names a field the way the user wrote it.
type dialect struct {
	issuer, subject, audiences, expiration string
	// svid is the credential provider for a SPIFFE JWT-SVID and tlsSVID
	// the tls provider for an X.509-SVID.
	svid, tlsSVID string
	// generic is v1beta2's explicit "no cloud provider"; empty in v1beta1.
	generic string
	// needOne is the message for a host with nothing configured.
	needOne string
	// spiffeOne is the message for a spiffe block without exactly one authorizer.
	spiffeOne string
	// username is where the username is written.
	username string
}

func v1beta1Dialect() dialect {
	return dialect{
		issuer: "iss", subject: "sub", audiences: "aud", expiration: "exp",
		svid: "jwt-svid", tlsSVID: "x509-svid",
		needOne:   "one of credential, provider, tls, or maxChunkSize is required",
		spiffeOne: "exactly one of serverID, trustDomain, or authorizeAny must be set",
		username:  "username",
	}
}

func v1beta2Dialect() dialect {
	return dialect{
		issuer: "issuer", subject: "subject", audiences: "audiences", expiration: "expiration",
		svid: "spiffe", tlsSVID: "spiffe", generic: "generic",
		needOne:   "one of credential, a cloud provider, tls, or maxChunkSize is required",
		spiffeOne: "exactly one of serverID or trustDomain must be set",
		username:  "credential: username",
	}
}

// checkHost validates a hosts[] entry and reduces it to what
// login needs. Path fields come back relative to paths.dir.
func checkHost(h hostFile, d dialect, paths *folder) (hostConfig, error) {
	if err := checkHostName(h.Host); err != nil {
		return hostConfig{}, err
	}
	provider := h.Provider
	switch provider {
	case "ecr", "acr", "gar":
	case "", d.generic:
		provider = ""
	default:
		if d.generic != "" {
			return hostConfig{}, fmt.Errorf("provider %q must be one of: %s, ecr, acr, gar", h.Provider, d.generic)
		}
		return hostConfig{}, fmt.Errorf("provider %q must be one of: ecr, acr, gar", h.Provider)
	}
	switch {
	case h.HostUsername != nil && h.Credential == nil:
		return hostConfig{}, errors.New("username can only be set with credential")
	case provider != "" && h.Credential != nil:
		return hostConfig{}, errors.New("credential and provider are mutually exclusive")
	case provider != "" && h.TLS != nil:
		return hostConfig{}, errors.New("provider and tls are mutually exclusive")
	case provider == "" && h.Credential == nil && h.TLS == nil && h.MaxChunkSize == nil:
		return hostConfig{}, errors.New(d.needOne)
	}
	if provider != "" {
		if err := checkRegistryHost(provider, h.Host); err != nil {
			return hostConfig{}, err
		}
	}
	out := hostConfig{Host: h.Host, Provider: provider, Insecure: h.Insecure}
	if h.Credential != nil {
		// An empty username would turn the password of a pair, bound for
		// a credential helper, into a bearer registry token in
		// config.json: ${OWNER} with OWNER set but empty is a mistake, not
		// a request for a token, which is asked for by leaving the key out.
		if u := h.Credential.Username; u != nil && *u == "" {
			return hostConfig{}, fmt.Errorf("%s for host %q is empty; write a username, or leave the key out to store a registry token", d.username, h.Host)
		}
		c, err := checkCredential(*h.Credential, d, paths)
		if err != nil {
			return hostConfig{}, fmt.Errorf("credential: %w", err)
		}
		out.Credential = c
		if u := h.Credential.Username; u != nil {
			out.Username = *u
		}
	}
	if h.TLS != nil {
		if err := checkTLS(*h.TLS, d, paths); err != nil {
			return hostConfig{}, fmt.Errorf("tls: %w", err)
		}
	}
	if h.MaxChunkSize != nil && *h.MaxChunkSize < 0 {
		return hostConfig{}, errors.New("maxChunkSize must be >= 0 (0 disables chunking)")
	}
	return out, nil
}

// checkCredential validates a credential block: exactly one token source,
// and the claim fields only beside the sources that use them.
func checkCredential(c credentialFile, d dialect, paths *folder) (*credentialConfig, error) {
	switch {
	case c.Type == "":
		return nil, errors.New("type is required")
	case c.Type != "jwt":
		return nil, fmt.Errorf("type %q must be %q", c.Type, "jwt")
	}
	sources := 0
	for _, s := range []string{c.Provider, c.Value, c.FromPath, c.JWKPath, c.JWKValue} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return nil, errors.New("exactly one of provider, value, fromPath, jwkPath, or jwkValue must be set")
	}
	out := &credentialConfig{
		Provider: c.Provider,
		Value:    c.Value,
		JWKValue: c.JWKValue,
		Issuer:   c.Issuer,
		Subject:  c.Subject,
		Envelope: c.Envelope,
	}
	if len(c.Audiences) > 0 {
		out.Audiences = c.Audiences
	}
	switch c.Provider {
	case "", "github", "forgejo", "gcp", "azure", "aws", kubeletSource:
	case d.svid:
		out.Provider = "jwt-svid"
	default:
		return nil, fmt.Errorf("provider %q must be one of: github, forgejo, gcp, azure, aws, %s, %s", c.Provider, d.svid, kubeletSource)
	}
	jwk := c.JWKPath != "" || c.JWKValue != ""
	switch {
	case jwk && c.Issuer == "":
		return nil, fmt.Errorf("%s is required with jwkPath or jwkValue", d.issuer)
	case jwk && c.Subject == "":
		return nil, fmt.Errorf("%s is required with jwkPath or jwkValue", d.subject)
	case !jwk && (c.Issuer != "" || c.Subject != ""):
		return nil, fmt.Errorf("%s and %s can only be set with jwkPath or jwkValue", d.issuer, d.subject)
	case !jwk && c.Provider == "" && len(c.Audiences) > 0:
		return nil, fmt.Errorf("%s can only be set with jwkPath, jwkValue, or provider", d.audiences)
	case !jwk && c.Expiration != "":
		return nil, fmt.Errorf("%s can only be set with jwkPath or jwkValue", d.expiration)
	case (c.Provider == "gcp" || c.Provider == "azure" || c.Provider == kubeletSource) && len(c.Audiences) > 1:
		// A Google ID token, an Entra scope and the kubelet's
		// serviceAccountTokenAudience each name one audience.
		return nil, fmt.Errorf("provider %q accepts at most one audience", c.Provider)
	}
	for i, a := range c.Audiences {
		if a == "" {
			return nil, fmt.Errorf("%s[%d] must not be empty", d.audiences, i)
		}
		if c.Provider == "aws" {
			if err := checkAWSAudience(a); err != nil {
				field := fmt.Sprintf("%s[%d]", d.audiences, i)
				if d.audiences == "aud" {
					field = "aud" // v1beta1's is one string, not a list
				}
				return nil, fmt.Errorf("%s %q %w with provider \"aws\": the signed X-Audience header joins audiences with commas and trims spaces", field, a, err)
			}
		}
	}
	if c.Expiration != "" {
		exp, err := time.ParseDuration(c.Expiration)
		if err != nil {
			return nil, fmt.Errorf("%s: invalid duration %q, want a Go duration such as 60s, 10m or 1h", d.expiration, c.Expiration)
		}
		if exp <= 0 {
			return nil, fmt.Errorf("%s must be a positive duration", d.expiration)
		}
		out.Expiration = exp
	}
	if err := checkEnvelope(c.Envelope); err != nil {
		return nil, err
	}
	var err error
	if out.FromPath, err = paths.confine("fromPath", c.FromPath); err != nil {
		return nil, err
	}
	if out.JWKPath, err = paths.confine("jwkPath", c.JWKPath); err != nil {
		return nil, err
	}
	return out, nil
}

// checkTLS validates a tls block. login never uses it, but a broken one is
// still a broken config, and its path fields are confined like the others.
func checkTLS(t tlsFile, d dialect, paths *folder) error {
	if t.ServerAuth == nil && t.ClientAuth == nil {
		return errors.New("one of serverAuth or clientAuth is required")
	}
	if s := t.ServerAuth; s != nil {
		if err := checkServerAuth(*s, d, paths); err != nil {
			return fmt.Errorf("serverAuth: %w", err)
		}
	}
	if c := t.ClientAuth; c != nil {
		if err := checkClientAuth(*c, d, paths); err != nil {
			return fmt.Errorf("clientAuth: %w", err)
		}
	}
	return nil
}

func checkServerAuth(s serverAuthFile, d dialect, paths *folder) error {
	switch s.Provider {
	case d.tlsSVID:
		if s.SPIFFE == nil {
			return fmt.Errorf("spiffe is required with provider %q", s.Provider)
		}
		if s.FromPath != "" || s.Value != "" {
			return errors.New("fromPath and value are not allowed with spiffe")
		}
		if err := checkSPIFFE(*s.SPIFFE, d); err != nil {
			return fmt.Errorf("spiffe: %w", err)
		}
		return nil
	case "":
		if s.SPIFFE != nil {
			return fmt.Errorf("spiffe requires provider %q", d.tlsSVID)
		}
		return checkPEM(pemFile{FromPath: s.FromPath, Value: s.Value}, paths)
	}
	return fmt.Errorf("provider %q must be %q", s.Provider, d.tlsSVID)
}

func checkClientAuth(c clientAuthFile, d dialect, paths *folder) error {
	switch c.Provider {
	case d.tlsSVID:
		if c.Certificate != nil || c.Key != nil {
			return fmt.Errorf("certificate and key are not allowed with provider %q", c.Provider)
		}
		return nil
	case "":
		for _, f := range []struct {
			name string
			pem  *pemFile
		}{{"certificate", c.Certificate}, {"key", c.Key}} {
			if f.pem == nil {
				return fmt.Errorf("%s is required", f.name)
			}
			if err := checkPEM(*f.pem, paths); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
		}
		return nil
	}
	return fmt.Errorf("provider %q must be %q", c.Provider, d.tlsSVID)
}

// checkPEM checks a PEM source's shape and path; its content is sync's
// business and is not parsed here.
func checkPEM(p pemFile, paths *folder) error {
	if (p.FromPath == "") == (p.Value == "") {
		return errors.New("exactly one of fromPath or value must be set")
	}
	_, err := paths.confine("fromPath", p.FromPath)
	return err
}

// checkSPIFFE checks the server authorizer of a SPIFFE server identity.
func checkSPIFFE(s spiffeFile, d dialect) error {
	set := 0
	for _, b := range []bool{s.ServerID != "", s.TrustDomain != "", s.AuthorizeAny} {
		if b {
			set++
		}
	}
	if set != 1 {
		return errors.New(d.spiffeOne)
	}
	if s.ServerID != "" {
		if _, err := spiffeid.FromString(s.ServerID); err != nil {
			return fmt.Errorf("serverID %q is not a valid SPIFFE ID: %w", s.ServerID, err)
		}
	}
	// "self" stands for the workload's own trust domain.
	if s.TrustDomain != "" && s.TrustDomain != "self" {
		if _, err := spiffeid.TrustDomainFromString(s.TrustDomain); err != nil {
			return fmt.Errorf("trustDomain %q is not valid: %w", s.TrustDomain, err)
		}
	}
	return nil
}

// checkAWSAudience refuses an audience that would sign like another
// audience list. SigV4 canonicalises a header's values by trimming them,
// collapsing runs of spaces and joining them with commas (the AWS SigV4
// docs, "Create a canonical request"), so ["a,b"] signs as ["a", "b"] and
// " a" as "a": the registry could not tell which audiences were meant.
func checkAWSAudience(aud string) error {
	switch {
	case strings.Contains(aud, ","):
		return errors.New("must not contain a comma")
	case strings.TrimSpace(aud) != aud:
		return errors.New("must not have surrounding space")
	case strings.Contains(aud, "  "):
		return errors.New("must not contain repeated spaces")
	case strings.ContainsFunc(aud, func(r rune) bool { return r != ' ' && unicode.IsSpace(r) || unicode.IsControl(r) }):
		return errors.New("must not contain control characters or spaces other than ' '")
	}
	return nil
}
