package main

// The config file's YAML, read once into the generic tree the strict
// decoder in configfile.go works on.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
)

// parseYAML turns the config's one YAML document into a generic tree of
// map[string]any, []any, string, json.Number, bool and nil. The tree is the
// one sigs.k8s.io/yaml's YAMLToJSONStrict and encoding/json (UseNumber)
// made of it before, built from a single parse, except for two valid
// documents that it refused: a merge key whose keys the mapping overrides,
// and empty documents after the first (a trailing ---).
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
		return nil, yamlError(err)
	}
	// The hosts of a second document would be dropped without a word; an
	// empty one holds none.
	for {
		var next any
		nextErr := d.Decode(&next)
		if nextErr == io.EOF {
			break
		}
		if nextErr != nil || next != nil {
			return nil, errors.New("parse config: want one YAML document, found more")
		}
	}
	if err != nil && bytes.Contains(data, []byte("<<")) {
		doc, err = decodeWithMerges(data, err)
	}
	if err != nil {
		return nil, yamlError(err)
	}
	return jsonTree(doc, 1)
}

// yamlLine is the line yaml.v2 puts at the start of its message.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError is the parser's error in our words (see yamlErrorText), a
// lineError when the parser names the line.
func yamlError(err error) error {
	text := yamlErrorText(err.Error())
	if m := yamlLine.FindStringSubmatch(text); m != nil {
		line, _ := strconv.Atoi(m[1])
		return lineError{line: line, msg: strings.TrimPrefix(text, m[0])}
	}
	return fmt.Errorf("parse config: %s", text)
}

// decodeWithMerges decodes a document whose strict decoding failed with
// strictErr. yaml.v2's strict mode counts a key a merge (<<) brought in and
// the mapping then sets as given twice, though the YAML merge spec says the
// mapping's own key wins (https://yaml.org/type/merge.html). So the keys
// as written are checked for duplicates, with merges left out, and only
// then is the document decoded without the strict check, which applies the
// merges. A key written twice still fails with strictErr.
func decodeWithMerges(data []byte, strictErr error) (any, error) {
	// Decoded into a MapSlice, every mapping keeps its written pairs, a
	// key given twice included, and drops its merge keys.
	var written yamlv2.MapSlice
	if err := yamlv2.Unmarshal(data, &written); err != nil || hasDuplicateKey(written) {
		return nil, strictErr
	}
	var doc any
	if err := yamlv2.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	// yaml.v2 applies a merge where it is written, so it overwrites the
	// keys written before it; the spec says those win. Rather than load a
	// value the file overrides, refuse.
	if !keepsWritten(written, doc) {
		return nil, errors.New("a merge key (<<) overrides a key written before it in the same mapping; write << first")
	}
	return doc, nil
}

// keepsWritten reports whether every key written in the MapSlice tree
// written has its written value in the tree doc that yaml.v2 decoded from
// the same document with its merges applied.
func keepsWritten(written, doc any) bool {
	switch w := written.(type) {
	case yamlv2.MapSlice:
		m, ok := doc.(map[any]any)
		if !ok {
			return false
		}
		for _, item := range w {
			v, ok := m[item.Key]
			if !ok || !keepsWritten(item.Value, v) {
				return false
			}
		}
		return true
	case []any:
		l, ok := doc.([]any)
		if !ok || len(l) != len(w) {
			return false
		}
		for i := range w {
			if !keepsWritten(w[i], l[i]) {
				return false
			}
		}
		return true
	}
	switch doc.(type) {
	case map[any]any, []any:
		return false
	}
	return written == doc
}

// hasDuplicateKey reports whether a mapping in node, a tree yaml.v2
// decoded into a MapSlice, has a key twice, comparing keys as yaml.v2's
// strict mode does.
func hasDuplicateKey(node any) bool {
	switch n := node.(type) {
	case yamlv2.MapSlice:
		seen := make(map[any]bool, len(n))
		for _, item := range n {
			// A mapping or list as a key fails the strict decoding first;
			// should one get here, it is not compared but refused.
			if item.Key != nil && !reflect.TypeOf(item.Key).Comparable() {
				return true
			}
			if seen[item.Key] || hasDuplicateKey(item.Value) {
				return true
			}
			seen[item.Key] = true
		}
	case []any:
		for _, e := range n {
			if hasDuplicateKey(e) {
				return true
			}
		}
	}
	return false
}

// maxConfigDepth bounds how deep mappings and lists may nest. A config
// needs 6 levels (hosts[].tls.clientAuth.certificate); sync's artifacts
// and charts a few more. Every later pass over the tree recurses once per
// level, so a bound keeps a hostile file from costing more than its size.
const maxConfigDepth = 100

// jsonTree converts a tree that yaml.v2 decoded into an interface{} to the
// tree encoding/json (UseNumber) decodes from sigs.k8s.io/yaml v1.6.0's
// JSON for it: keys become strings as its convertToJSONableObject makes
// them, and numbers and strings carry encoding/json's text for them.
func jsonTree(node any, depth int) (any, error) {
	switch node.(type) {
	case map[any]any, []any:
		if depth > maxConfigDepth {
			return nil, fmt.Errorf("parse config: mappings and lists nest deeper than %d levels", maxConfigDepth)
		}
	}
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
			if m[key], err = jsonTree(v, depth+1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case []any:
		l := make([]any, len(n))
		for i, v := range n {
			var err error
			if l[i], err = jsonTree(v, depth+1); err != nil {
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
