package main

// The config file's format: the file types of each apiVersion, and a strict
// decoder from the generic tree (yamltree.go) to them.

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// configFile is the document; H is the hosts[] entry of its version.
type configFile[H any] struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Hosts      []H    `json:"hosts"`
	// artifacts and charts are sync's; login keeps them uninterpreted so
	// that a config shared with sync loads and a hosts-only one does too.
	Artifacts any `json:"artifacts"`
	Charts    any `json:"charts"`
}

// hostFile is a v1beta2 hosts[] entry; a v1beta1 entry converts to it.
type hostFile struct {
	Host         string          `json:"host"`
	Credential   *credentialFile `json:"credential"`
	Provider     string          `json:"provider"`
	TLS          *tlsFile        `json:"tls"`
	MaxChunkSize *int64          `json:"maxChunkSize"`
	// Insecure lets a credential go to this host over plain http (see
	// plainHTTPAllowed); v1beta1 and v1beta2 carry it alike.
	Insecure bool `json:"insecure"`
	// HostUsername is v1beta1's host-level username, kept so that one
	// without a credential is reported rather than dropped.
	HostUsername *string `json:"-"`
}

type credentialFile struct {
	Type       string   `json:"type"`
	Provider   string   `json:"provider"`
	Value      string   `json:"value"`
	FromPath   string   `json:"fromPath"`
	JWKPath    string   `json:"jwkPath"`
	JWKValue   string   `json:"jwkValue"`
	Issuer     string   `json:"issuer"`
	Subject    string   `json:"subject"`
	Audiences  []string `json:"audiences"`
	Expiration string   `json:"expiration"`
	// Username is a pointer so that a username written empty (or
	// substituted to "") is told from one left out.
	Username *string `json:"username"`
	Envelope string  `json:"envelope"`
}

type tlsFile struct {
	ServerAuth *serverAuthFile `json:"serverAuth"`
	ClientAuth *clientAuthFile `json:"clientAuth"`
}

type serverAuthFile struct {
	Provider string      `json:"provider"`
	FromPath string      `json:"fromPath"`
	Value    string      `json:"value"`
	SPIFFE   *spiffeFile `json:"spiffe"`
}

type spiffeFile struct {
	ServerID    string `json:"serverID"`
	TrustDomain string `json:"trustDomain"`
	// AuthorizeAny exists in v1beta1 only.
	AuthorizeAny bool `json:"-"`
}

type clientAuthFile struct {
	Provider    string   `json:"provider"`
	Certificate *pemFile `json:"certificate"`
	Key         *pemFile `json:"key"`
}

type pemFile struct {
	FromPath string `json:"fromPath"`
	Value    string `json:"value"`
}

// v1beta1Host is a v1beta1 hosts[] entry (docs/config.md).
type v1beta1Host struct {
	Host         string             `json:"host"`
	Username     *string            `json:"username"`
	Credential   *v1beta1Credential `json:"credential"`
	Provider     string             `json:"provider"`
	TLS          *v1beta1TLS        `json:"tls"`
	MaxChunkSize *int64             `json:"maxChunkSize"`
	Insecure     bool               `json:"insecure"`
}

type v1beta1Credential struct {
	Provider string `json:"provider"`
	Value    string `json:"value"`
	FromPath string `json:"fromPath"`
	JWKPath  string `json:"jwkPath"`
	JWKValue string `json:"jwkValue"`
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Exp      string `json:"exp"`
	Envelope string `json:"envelope"`
}

type v1beta1TLS struct {
	ServerAuth *struct {
		FromPath string `json:"fromPath"`
		Value    string `json:"value"`
		SPIFFE   *struct {
			ServerID     string `json:"serverID"`
			TrustDomain  string `json:"trustDomain"`
			AuthorizeAny bool   `json:"authorizeAny"`
		} `json:"spiffe"`
	} `json:"serverAuth"`
	ClientAuth *clientAuthFile `json:"clientAuth"`
}

// convert maps a v1beta1 entry to the v1beta2 shape, the way flux-mirror
// migrates it, keeping the v1beta1 names (jwt-svid, x509-svid) so that
// the v1beta1 dialect validates them.
func (h v1beta1Host) convert() hostFile {
	out := hostFile{
		Host:         h.Host,
		Provider:     h.Provider,
		MaxChunkSize: h.MaxChunkSize,
		Insecure:     h.Insecure,
		HostUsername: h.Username,
	}
	if c := h.Credential; c != nil {
		out.Credential = &credentialFile{
			Type:       "jwt",
			Provider:   c.Provider,
			Value:      c.Value,
			FromPath:   c.FromPath,
			JWKPath:    c.JWKPath,
			JWKValue:   c.JWKValue,
			Issuer:     c.Iss,
			Subject:    c.Sub,
			Expiration: c.Exp,
			Username:   h.Username,
			Envelope:   c.Envelope,
		}
		if c.Aud != "" {
			out.Credential.Audiences = []string{c.Aud}
		}
	}
	if t := h.TLS; t != nil {
		out.TLS = &tlsFile{ClientAuth: t.ClientAuth}
		if s := t.ServerAuth; s != nil {
			out.TLS.ServerAuth = &serverAuthFile{FromPath: s.FromPath, Value: s.Value}
			if s.SPIFFE != nil {
				out.TLS.ServerAuth.Provider = "x509-svid"
				out.TLS.ServerAuth.SPIFFE = &spiffeFile{
					ServerID:     s.SPIFFE.ServerID,
					TrustDomain:  s.SPIFFE.TrustDomain,
					AuthorizeAny: s.SPIFFE.AuthorizeAny,
				}
			}
		}
	}
	return out
}

// decodeNode stores the generic tree node in the value dst points to,
// matching mapping keys to json tags exactly as written. encoding/json
// would match keys regardless of case, so "Value" and "value" in one
// mapping would silently overwrite each other. Errors name the place and
// the kind of a wrong value, never the value: it can be a secret.
func decodeNode(at string, node any, dst any) error {
	d := decoder{tags: map[reflect.Type]*structTags{}}
	return d.value(at, node, reflect.ValueOf(dst).Elem())
}

// A decoder decodes one document. It reads the json tags of each file
// type once: a 200-host config has 200 hosts[] entries of one type.
type decoder struct {
	tags map[reflect.Type]*structTags
}

func (d *decoder) value(at string, node any, v reflect.Value) error {
	if node == nil {
		// A key written without a value is the same as no key.
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := d.value(at, node, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Struct:
		m, ok := node.(map[string]any)
		if !ok {
			return wrongType(at, "a mapping", node)
		}
		tags := d.tagsOf(v.Type())
		for k := range m {
			if _, ok := tags.index[k]; !ok {
				return d.firstError(at, m, v, tags)
			}
		}
		// Every key names a field: visiting the fields in tag order is
		// visiting the keys in sorted order, and finds the same first error.
		for _, key := range tags.sorted {
			if node, ok := m[key]; ok {
				if err := d.field(at, key, node, v.Field(tags.index[key])); err != nil {
					return err
				}
			}
		}
	case reflect.Slice:
		l, ok := node.([]any)
		if !ok {
			return wrongType(at, "a list", node)
		}
		v.Set(reflect.MakeSlice(v.Type(), len(l), len(l)))
		for i, e := range l {
			if err := d.value(at+"["+strconv.Itoa(i)+"]", e, v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.String:
		s, ok := node.(string)
		if !ok {
			return fmt.Errorf("%w%s", wrongType(at, "a string", node), scalarHint(at, node))
		}
		v.SetString(s)
	case reflect.Int64:
		n, ok := node.(json.Number)
		if !ok {
			return wrongType(at, "an integer", node)
		}
		i, err := n.Int64()
		if err != nil {
			return fmt.Errorf("%s must be an integer", at)
		}
		v.SetInt(i)
	case reflect.Bool:
		b, ok := node.(bool)
		if !ok {
			return wrongType(at, "true or false", node)
		}
		v.SetBool(b)
	case reflect.Interface:
		v.Set(reflect.ValueOf(node))
	default:
		// Only the file types below reach here; a new field kind is a bug.
		panic(fmt.Sprintf("decoder.value: unsupported kind %s", v.Kind()))
	}
	return nil
}

// field decodes the value of key in the mapping at at into f. A string,
// the most common value, is set without building its place.
func (d *decoder) field(at, key string, node any, f reflect.Value) error {
	if s, ok := node.(string); ok && f.Kind() == reflect.String {
		f.SetString(s)
		return nil
	}
	return d.value(prefix(at)+key, node, f)
}

// structTags are the json tags of a file type: the field index of each,
// and the tags sorted.
type structTags struct {
	index  map[string]int
	sorted []string
}

func (d *decoder) tagsOf(t reflect.Type) *structTags {
	if tags, ok := d.tags[t]; ok {
		return tags
	}
	tags := &structTags{index: map[string]int{}}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			tags.index[name] = i
			tags.sorted = append(tags.sorted, name)
		}
	}
	slices.Sort(tags.sorted)
	d.tags[t] = tags
	return tags
}

// firstError is the error of a mapping m that holds an unknown key: the
// first unknown key in sorted order, or an error in a known key before it.
func (d *decoder) firstError(at string, m map[string]any, v reflect.Value, tags *structTags) error {
	for _, key := range slices.Sorted(maps.Keys(m)) {
		i, ok := tags.index[key]
		if !ok {
			return unknownField(at, key, v.Type(), tags)
		}
		if err := d.field(at, key, m[key], v.Field(i)); err != nil {
			return err
		}
	}
	panic("firstError: every key is known")
}

func prefix(at string) string {
	if at == "" {
		return ""
	}
	return at + ": "
}

func wrongType(at, want string, node any) error {
	if at == "" {
		at = "config"
	}
	return fmt.Errorf("%s must be %s, not %s", at, want, describe(node))
}

// describe names the kind of a generic tree node for an error.
func describe(node any) string {
	switch node.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}
