package main

// The config file's format: the YAML document as a generic tree, the file
// types of each apiVersion, and a strict decoder from one to the other.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
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
	// HostUsername is v1beta1's host-level username, kept so that one
	// without a credential is reported rather than dropped.
	HostUsername string `json:"-"`
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
	Username   string   `json:"username"`
	Envelope   string   `json:"envelope"`
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

// v1beta1Host is a v1beta1 hosts[] entry (SPEC 2.2).
type v1beta1Host struct {
	Host         string             `json:"host"`
	Username     string             `json:"username"`
	Credential   *v1beta1Credential `json:"credential"`
	Provider     string             `json:"provider"`
	TLS          *v1beta1TLS        `json:"tls"`
	MaxChunkSize *int64             `json:"maxChunkSize"`
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

// parseYAML turns the config's one YAML document into a generic tree of
// map[string]any, []any, string, json.Number, bool and nil. The tree is the
// one sigs.k8s.io/yaml's YAMLToJSONStrict and encoding/json (UseNumber)
// made of it before, built from a single parse.
func parseYAML(data []byte) (any, error) {
	d := yamlv2.NewDecoder(bytes.NewReader(data))
	// Strict: a key given twice in one mapping is an error, as the YAML
	// spec requires keys to be unique.
	d.SetStrict(true)
	var doc any
	err := d.Decode(&doc)
	if err == io.EOF {
		return nil, nil
	}
	// A *TypeError (a duplicate key) comes once the whole document has been
	// read, so the parser can still look for a second one, the bigger
	// mistake; any other error stops the parser where it is.
	var typeErr *yamlv2.TypeError
	if err != nil && !errors.As(err, &typeErr) {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	// The hosts of a second document would be dropped without a word.
	var second any
	if err := d.Decode(&second); err != io.EOF {
		return nil, errors.New("parse config: want one YAML document, found more")
	}
	if err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	return jsonTree(doc)
}

// jsonTree converts a tree that yaml.v2 decoded into an interface{} to the
// tree encoding/json (UseNumber) decodes from sigs.k8s.io/yaml v1.6.0's
// JSON for it: keys become strings as its convertToJSONableObject makes
// them, and numbers and strings carry encoding/json's text for them.
func jsonTree(node any) (any, error) {
	switch n := node.(type) {
	case map[any]any:
		m := make(map[string]any, len(n))
		for k, v := range n {
			key, err := jsonKey(k)
			if err != nil {
				return nil, err
			}
			// 1: and "1": are two keys to YAML but one to JSON, where
			// sigs.k8s.io/yaml kept either value at random.
			if _, ok := m[key]; ok {
				return nil, fmt.Errorf("parse config: key %q is set twice in one mapping (a number or boolean key counts as its text)", key)
			}
			if m[key], err = jsonTree(v); err != nil {
				return nil, err
			}
		}
		return m, nil
	case []any:
		l := make([]any, len(n))
		for i, v := range n {
			var err error
			if l[i], err = jsonTree(v); err != nil {
				return nil, err
			}
		}
		return l, nil
	case string:
		return jsonSafeString(n), nil
	case int:
		return json.Number(strconv.Itoa(n)), nil
	case int64:
		return json.Number(strconv.FormatInt(n, 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(n, 10)), nil
	case float64:
		// encoding/json's shortest text for a float64 (1e3 is "1000",
		// 1e21 is "1e+21"); it has none for .inf, -.inf and .nan.
		b, err := json.Marshal(n)
		if err != nil {
			return nil, errors.New("parse config: a number must be finite, not .inf, -.inf or .nan")
		}
		return json.Number(b), nil
	case bool, nil:
		return n, nil
	}
	// yaml.v2 decodes nothing else into an interface{}.
	return nil, fmt.Errorf("parse config: unexpected YAML value of type %T", node)
}

// jsonKey is the string sigs.k8s.io/yaml v1.6.0 makes of a mapping key.
// Like it, it refuses a null key, a uint64 one (an integer past 2^63-1)
// and any other; unlike its error, this one names neither the key nor the
// value beside it, which can be a secret.
func jsonKey(k any) (string, error) {
	switch k := k.(type) {
	case string:
		return jsonSafeString(k), nil
	case int:
		return strconv.Itoa(k), nil
	case int64:
		return strconv.FormatInt(k, 10), nil
	case float64:
		// go-yaml's text for a float, at the 32-bit precision
		// sigs.k8s.io/yaml asks for.
		switch s := strconv.FormatFloat(k, 'g', -1, 32); s {
		case "+Inf":
			return ".inf", nil
		case "-Inf":
			return "-.inf", nil
		case "NaN":
			return ".nan", nil
		default:
			return s, nil
		}
	case bool:
		return strconv.FormatBool(k), nil
	}
	return "", errors.New("parse config: a key must be a string, a number or a boolean")
}

// jsonSafeString is s as encoding/json writes it and reads it back: each
// byte that is not part of valid UTF-8 (only a !!binary scalar has them)
// becomes U+FFFD, which is what converting to []rune does.
func jsonSafeString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string([]rune(s))
}

// decodeNode stores the generic tree node in the value dst points to,
// matching mapping keys to json tags exactly as written. encoding/json
// would match keys regardless of case, so "Value" and "value" in one
// mapping would silently overwrite each other. Errors name the place and
// the kind of a wrong value, never the value: it can be a secret.
func decodeNode(at string, node any, dst any) error {
	return decodeValue(at, node, reflect.ValueOf(dst).Elem())
}

func decodeValue(at string, node any, v reflect.Value) error {
	if node == nil {
		// A key written without a value is the same as no key.
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := decodeValue(at, node, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Struct:
		m, ok := node.(map[string]any)
		if !ok {
			return wrongType(at, "a mapping", node)
		}
		for _, key := range slices.Sorted(maps.Keys(m)) {
			f, ok := fieldByTag(v, key)
			if !ok {
				return fmt.Errorf("%sunknown field %q", prefix(at), key)
			}
			if err := decodeValue(prefix(at)+key, m[key], f); err != nil {
				return err
			}
		}
	case reflect.Slice:
		l, ok := node.([]any)
		if !ok {
			return wrongType(at, "a list", node)
		}
		v.Set(reflect.MakeSlice(v.Type(), len(l), len(l)))
		for i, e := range l {
			if err := decodeValue(fmt.Sprintf("%s[%d]", at, i), e, v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.String:
		s, ok := node.(string)
		if !ok {
			return wrongType(at, "a string", node)
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
		panic(fmt.Sprintf("decodeValue: unsupported kind %s", v.Kind()))
	}
	return nil
}

// fieldByTag returns the field of struct v whose json tag is key.
func fieldByTag(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == key && name != "-" {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
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
