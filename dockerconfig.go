package main

// config.json as docker reads and writes it, kept as raw JSON so that keys
// this tool does not know survive a rewrite.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// authEntry is an auths entry as raw JSON values by key, so that keys this
// tool does not know survive a rewrite.
type authEntry = map[string]json.RawMessage

// dockerConfig is a config.json kept as raw JSON: the fields this tool
// decides with are decoded, everything else is written back as read
// [beyond: docker drops keys it does not know].
type dockerConfig struct {
	// top is every top-level key but auths.
	top         map[string]json.RawMessage
	auths       map[string]authEntry
	credsStore  string
	credHelpers map[string]string
}

// parseDockerConfig reads a config.json. It fails where docker's loader
// fails (configfile.LoadFromReader), so that nothing docker could not read
// is ever overwritten. Its errors name keys and byte offsets, never values:
// a value may be a secret.
func parseDockerConfig(data []byte) (dockerConfig, error) {
	c := dockerConfig{top: map[string]json.RawMessage{}, auths: map[string]authEntry{}}
	// docker reads an empty file as an empty config.
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
			return c, fmt.Errorf("not valid JSON (syntax error at byte %d)", se.Offset)
		}
		return c, errors.New("not a JSON object")
	}
	if top != nil {
		c.top = top
	}
	if raw, ok := c.top["auths"]; ok {
		delete(c.top, "auths")
		var auths map[string]authEntry
		if err := json.Unmarshal(raw, &auths); err != nil {
			return c, errors.New("auths: not an object of objects")
		}
		for key, entry := range auths {
			if err := checkAuthEntry(entry); err != nil {
				return c, fmt.Errorf("auths[%q]: %w", key, err)
			}
			c.auths[key] = entry
		}
	}
	if raw, ok := c.top["credsStore"]; ok {
		if err := json.Unmarshal(raw, &c.credsStore); err != nil {
			return c, errors.New("credsStore: not a string")
		}
	}
	if raw, ok := c.top["credHelpers"]; ok {
		if err := json.Unmarshal(raw, &c.credHelpers); err != nil {
			return c, errors.New("credHelpers: not an object of strings")
		}
	}
	return c, nil
}

// checkAuthEntry applies docker's rules for an entry's auth
// (configfile.decodeAuth): standard base64 with padding of user:password,
// split at the first ':', with a non-empty user.
func checkAuthEntry(entry authEntry) error {
	raw, ok := entry["auth"]
	if !ok {
		return nil
	}
	var auth string
	if err := json.Unmarshal(raw, &auth); err != nil {
		return errors.New("auth: not a string")
	}
	if auth == "" {
		return nil
	}
	decoded, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return errors.New("auth: not valid base64")
	}
	user, _, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return errors.New("auth: not base64 of user:password (no ':')")
	}
	if user == "" {
		return errors.New("auth: empty username")
	}
	return nil
}

// containsAuth is docker's configfile.ContainsAuth: a credsStore, any
// credHelpers, or any auths entry, even an empty one.
func (c *dockerConfig) containsAuth() bool {
	return c.credsStore != "" || len(c.credHelpers) > 0 || len(c.auths) > 0
}

func (c *dockerConfig) setCredsStore(name string) {
	c.credsStore = name
	c.top["credsStore"] = jsonString(name)
}

// setCredHelper sets credHelpers[key] to name.
func (c *dockerConfig) setCredHelper(key, name string) {
	if c.credHelpers == nil {
		c.credHelpers = map[string]string{}
	}
	c.credHelpers[key] = name
	c.top["credHelpers"], _ = json.Marshal(c.credHelpers)
}

// deleteCredHelper removes credHelpers[key], and credHelpers with its last
// entry.
func (c *dockerConfig) deleteCredHelper(key string) {
	delete(c.credHelpers, key)
	if len(c.credHelpers) == 0 {
		delete(c.top, "credHelpers")
		return
	}
	c.top["credHelpers"], _ = json.Marshal(c.credHelpers)
}

// encode is config.json as docker writes it (configfile.SaveToWriter):
// tab-indented, no final newline, "auths" first and always present. The
// other top-level keys follow in Go's sorted map order (docker uses its
// struct's order, and drops the keys it does not know).
func (c *dockerConfig) encode() ([]byte, error) {
	auths, err := json.Marshal(c.auths)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"auths":`)
	b.Write(auths)
	for _, k := range slices.Sorted(maps.Keys(c.top)) {
		// Marshalling a RawMessage validates and compacts it; its values
		// are untouched.
		kv, err := json.Marshal(map[string]json.RawMessage{k: c.top[k]})
		if err != nil {
			return nil, err
		}
		b.WriteByte(',')
		b.Write(kv[1 : len(kv)-1])
	}
	b.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "\t"); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// jsonString is s as a JSON string value.
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
