package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// config is a loaded, substituted and validated flux-mirror config, reduced
// to what login needs. v1beta1 and v1beta2 files both decode into it.
type config struct {
	Hosts []hostConfig
	// dir is the folder that fromPath, jwkPath and the tls paths are
	// relative to: the config file's folder, or the working directory when
	// the config came from stdin.
	dir string
}

// hostConfig is one hosts[] entry.
type hostConfig struct {
	Host string
	// Username set: the credential is the password of a username/password
	// pair. Unset: the credential is a bearer registrytoken.
	Username string
	// Credential says how the secret is obtained; nil when not configured.
	Credential *credentialConfig
	// Provider is a cloud registry's native login: "ecr", "acr" or "gar";
	// empty when not configured.
	Provider string
}

// credentialConfig is a host's credential block. Exactly one of Provider,
// Value, FromPath, JWKPath and JWKValue is set.
type credentialConfig struct {
	Provider string // github, forgejo, gcp, azure, aws, jwt-svid
	Value    string
	FromPath string // relative to config.dir, checked to stay inside it
	JWKPath  string // relative to config.dir, checked to stay inside it
	JWKValue string
	Issuer   string
	Subject  string
	// Audiences as configured; empty means the default, the host.
	Audiences []string
	// Expiration is the signed JWT's lifetime; zero means the default, 60s.
	Expiration time.Duration
	// Envelope is a text/template applied to the token (see applyEnvelope);
	// empty means the token is used as it is.
	Envelope string
}

// audiences returns the configured audiences, or the host when none is set.
func (c *credentialConfig) audiences(host string) []string {
	if len(c.Audiences) > 0 {
		return c.Audiences
	}
	return []string{host}
}

// hasCredential reports whether login has anything to store for h; a host
// with only tls or maxChunkSize has not.
func (h hostConfig) hasCredential() bool {
	return h.Credential != nil || h.Provider != ""
}

// isLiteral reports whether h's credential is written in the config as it
// is sent: resolving it reads no file and asks no server.
func (h hostConfig) isLiteral() bool {
	c := h.Credential
	return h.Provider == "" && c != nil && c.Value != "" && c.Envelope == ""
}

// hostIndex returns the index of the host named exactly name, or -1.
func (c *config) hostIndex(name string) int {
	for i, h := range c.Hosts {
		if h.Host == name {
			return i
		}
	}
	return -1
}

// The config versions this tool reads. v1beta2 is the shape current
// flux-mirror writes; SPEC 8 asks that files shared with it load.
const (
	apiVersionV1beta1 = "mirror.plugin.fluxcd.io/v1beta1"
	apiVersionV1beta2 = "mirror.plugin.fluxcd.io/v1beta2"
)

// loadConfig reads the config named by flagPath (see configPath), or stdin
// for "-", substitutes environment variables when substitute is set, and
// decodes and validates it.
func loadConfig(flagPath string, stdin io.Reader, substitute bool) (*config, error) {
	path, err := configPath(flagPath, os.Getenv, os.Executable)
	if err != nil {
		return nil, err
	}
	data, dir, err := readConfig(path, stdin)
	if err != nil {
		return nil, err
	}
	var lookup func(string) (string, bool)
	if substitute {
		lookup = os.LookupEnv
	}
	return parseConfig(data, dir, lookup)
}

// parseConfig decodes and validates a config document whose paths are
// relative to dir. A nil lookup turns environment substitution off.
func parseConfig(data []byte, dir string, lookup func(string) (string, bool)) (*config, error) {
	doc, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	if lookup != nil {
		// Substituting in the parsed tree, not the raw text, keeps a value
		// that holds "#", ": " or only digits a string, byte for byte, and
		// never evaluates a ${VAR} written in a comment.
		if doc, err = substituteTree("", doc, lookup); err != nil {
			return nil, fmt.Errorf("substitute environment variables: %w", err)
		}
	}
	top, ok := doc.(map[string]any)
	if doc != nil && !ok {
		return nil, fmt.Errorf("config must be a mapping, not %s", describe(doc))
	}
	version, ok := top["apiVersion"].(string)
	if v := top["apiVersion"]; v != nil && !ok {
		return nil, wrongType("apiVersion", "a string", v)
	}
	var (
		kind  string
		hosts []hostFile
		d     dialect
	)
	switch version {
	case apiVersionV1beta1:
		var f configFile[v1beta1Host]
		if err := decodeNode("", doc, &f); err != nil {
			return nil, err
		}
		kind, d = f.Kind, v1beta1Dialect()
		for _, h := range f.Hosts {
			hosts = append(hosts, h.convert())
		}
	case apiVersionV1beta2:
		var f configFile[hostFile]
		if err := decodeNode("", doc, &f); err != nil {
			return nil, err
		}
		kind, d, hosts = f.Kind, v1beta2Dialect(), f.Hosts
	default:
		return nil, fmt.Errorf("apiVersion must be %q or %q, got %q", apiVersionV1beta1, apiVersionV1beta2, version)
	}
	if kind != "Config" {
		return nil, fmt.Errorf("kind must be %q, got %q", "Config", kind)
	}

	paths, err := openFolder(dir)
	if err != nil {
		return nil, err
	}
	defer paths.close()
	cfg := &config{dir: paths.dir}
	for i, h := range hosts {
		hc, err := checkHost(h, d, paths)
		if err != nil {
			return nil, fmt.Errorf("hosts[%d]: %w", i, err)
		}
		if cfg.hostIndex(hc.Host) >= 0 {
			return nil, fmt.Errorf("hosts[%d]: host %q is configured more than once", i, hc.Host)
		}
		cfg.Hosts = append(cfg.Hosts, hc)
	}
	return cfg, nil
}

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
}

func v1beta1Dialect() dialect {
	return dialect{
		issuer: "iss", subject: "sub", audiences: "aud", expiration: "exp",
		svid: "jwt-svid", tlsSVID: "x509-svid",
		needOne:   "one of credential, provider, tls, or maxChunkSize is required",
		spiffeOne: "exactly one of serverID, trustDomain, or authorizeAny must be set",
	}
}

func v1beta2Dialect() dialect {
	return dialect{
		issuer: "issuer", subject: "subject", audiences: "audiences", expiration: "expiration",
		svid: "spiffe", tlsSVID: "spiffe", generic: "generic",
		needOne:   "one of credential, a cloud provider, tls, or maxChunkSize is required",
		spiffeOne: "exactly one of serverID or trustDomain must be set",
	}
}

// checkHost validates a hosts[] entry (SPEC 2.2) and reduces it to what
// login needs. Path fields come back relative to paths.dir.
func checkHost(h hostFile, d dialect, paths *folder) (hostConfig, error) {
	switch {
	case h.Host == "":
		return hostConfig{}, errors.New("host is required")
	case strings.Contains(h.Host, "://"):
		return hostConfig{}, fmt.Errorf("host %q must be host[:port], without a scheme", h.Host)
	case strings.Contains(h.Host, "/"):
		return hostConfig{}, fmt.Errorf("host %q must be host[:port], without a path", h.Host)
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
	case h.HostUsername != "" && h.Credential == nil:
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
	out := hostConfig{Host: h.Host, Provider: provider}
	if h.Credential != nil {
		c, err := checkCredential(*h.Credential, d, paths)
		if err != nil {
			return hostConfig{}, fmt.Errorf("credential: %w", err)
		}
		out.Credential, out.Username = c, h.Credential.Username
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

// checkCredential validates a credential block (SPEC 2.3).
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
	case "", "github", "forgejo", "gcp", "azure", "aws":
	case d.svid:
		out.Provider = "jwt-svid"
	default:
		return nil, fmt.Errorf("provider %q must be one of: github, forgejo, gcp, azure, aws, %s", c.Provider, d.svid)
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
	case (c.Provider == "gcp" || c.Provider == "azure") && len(c.Audiences) > 1:
		// A Google ID token and an Entra scope each name one audience.
		return nil, fmt.Errorf("provider %q accepts at most one audience", c.Provider)
	}
	for i, a := range c.Audiences {
		if a == "" {
			return nil, fmt.Errorf("%s[%d] must not be empty", d.audiences, i)
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
