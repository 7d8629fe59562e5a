package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// parseYAMLTwice is parseYAML as it was before it parsed once: yaml.v2's
// Decoder to find a second document, then sigs.k8s.io/yaml's
// YAMLToJSONStrict and encoding/json with UseNumber. It is the reference
// the one-parse parseYAML must agree with.
func parseYAMLTwice(data []byte) (any, error) {
	var first, second any
	d := yamlv2.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&first); err == nil {
		if err := d.Decode(&second); err != io.EOF {
			return nil, errors.New("parse config: want one YAML document, found more")
		}
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		if strings.HasPrefix(err.Error(), "unsupported map key") {
			return nil, errors.New("parse config: a key must be a string, a number or a boolean")
		}
		// parseYAML's errors drop the values the parser quotes and give
		// the line apart.
		return nil, yamlError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	return doc, nil
}

const (
	errKey       = "parse config: a key must be a string, a number or a boolean"
	errNotFinite = "parse config: a number must be finite, not .inf, -.inf or .nan"
	errTwoDocs   = "parse config: want one YAML document, found more"
)

// TestParseYAML pins the tree parseYAML makes of each kind of scalar and
// key, and its errors; every row is also checked against parseYAMLTwice.
func TestParseYAML(t *testing.T) {
	type m = map[string]any
	type l = []any
	type n = json.Number
	tests := []struct {
		name    string
		doc     string
		want    any
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"comment only", "# nothing\n", nil, ""},
		{"empty document marker", "---\n", nil, ""},
		{"scalar document", "foo", "foo", ""},
		{"list document", "- a\n- 1\n", l{"a", n("1")}, ""},
		{"ints", "a: 12\nb: -12\nc: +12\nd: 0\ne: -0\nf: 1_000\n",
			m{"a": n("12"), "b": n("-12"), "c": n("12"), "d": n("0"), "e": n("0"), "f": n("1000")}, ""},
		// YAML 1.1 and Go's ParseInt(s, 0, 64): a leading zero is octal.
		{"int bases", "a: 0012\nb: 0x1F\nc: 0o17\nd: 0b101\ne: -0b11\n",
			m{"a": n("10"), "b": n("31"), "c": n("15"), "d": n("5"), "e": n("-3")}, ""},
		{"quoted numbers stay strings", "a: '0012'\nb: \"1.5\"\nc: !!str 7\n", m{"a": "0012", "b": "1.5", "c": "7"}, ""},
		{"floats", "a: 1.5\nb: 1e3\nc: -2.50\nd: .5\ne: 1E-7\nf: 1e21\ng: 6.02e+23\nh: -0.0\ni: 5.\n",
			m{"a": n("1.5"), "b": n("1000"), "c": n("-2.5"), "d": n("0.5"), "e": n("1e-7"), "f": n("1e+21"),
				"g": n("6.02e+23"), "h": n("-0"), "i": n("5")}, ""},
		{"tagged float", "a: !!float 3\n", m{"a": n("3")}, ""},
		{"huge ints", "a: 9223372036854775807\nb: 9223372036854775808\nc: 18446744073709551616\nd: -9223372036854775809\ne: 123456789012345678901234567890\n",
			m{"a": n("9223372036854775807"), "b": n("9223372036854775808"), "c": n("18446744073709552000"),
				"d": n("-9223372036854776000"), "e": n("1.2345678901234568e+29")}, ""},
		{"past float64", "a: 1e400\n", m{"a": "1e400"}, ""},
		{".inf", "a: .inf\n", nil, errNotFinite},
		{"-.inf", "a: [1, -.Inf]\n", nil, errNotFinite},
		{".nan", "a: {b: .NaN}\n", nil, errNotFinite},
		{"booleans", "a: yes\nb: no\nc: on\nd: off\ne: y\nf: N\ng: True\nh: FALSE\ni: 'yes'\n",
			m{"a": true, "b": false, "c": true, "d": false, "e": true, "f": false, "g": true, "h": false, "i": "yes"}, ""},
		{"nulls", "a: ~\nb: null\nc: Null\nd:\ne: '~'\n", m{"a": nil, "b": nil, "c": nil, "d": nil, "e": "~"}, ""},
		{"timestamps stay strings", "a: 2001-12-14\nb: !!timestamp 2001-12-14t21:59:43.10-05:00\n",
			m{"a": "2001-12-14", "b": "2001-12-14t21:59:43.10-05:00"}, ""},
		{"unknown tag", "a: !foo bar\n", m{"a": "bar"}, ""},
		{"unicode and escapes", "a: \"\\u2028<&>\\x41\\t\"\nb: é\n", m{"a": "\u2028<&>A\t", "b": "é"}, ""},
		{"tab in a value", "a: 'x\ty'\nb:\tc\n", m{"a": "x\ty", "b": "c"}, ""},
		{"tab as indentation", "a:\n\tb: c\n", nil, "line 2: found character that cannot start any token"},
		{"flow mapping", "{a: 1, b: [x, {c: d}], e: {}}", m{"a": n("1"), "b": l{"x", m{"c": "d"}}, "e": m{}}, ""},
		{"binary", "a: !!binary aGVsbG8=\n", m{"a": "hello"}, ""},
		// encoding/json writes each byte of invalid UTF-8 as U+FFFD.
		{"binary not UTF-8", "a: !!binary /w7+\n", m{"a": "\ufffd\x0e\ufffd"}, ""},
		{"binary not base64", "a: !!binary '*'\n", nil, "parse config: yaml: !!binary value contains invalid base64 data"},
		{"anchors and aliases", "a: &x {b: [1, &y two]}\nc: *x\nd: *y\n",
			m{"a": m{"b": l{n("1"), "two"}}, "c": m{"b": l{n("1"), "two"}}, "d": "two"}, ""},
		{"unknown alias", "a: *x\n", nil, "parse config: yaml: unknown anchor referenced"},
		{"merge key", "base: &b {a: 1, c: 2}\nx:\n  <<: *b\n  d: 3\n",
			m{"base": m{"a": n("1"), "c": n("2")}, "x": m{"a": n("1"), "c": n("2"), "d": n("3")}}, ""},
		{"merge list", "p: &p {a: 1}\nq: &q {b: 2}\nx: {<<: [*p, *q], c: 3}\n",
			m{"p": m{"a": n("1")}, "q": m{"b": n("2")}, "x": m{"a": n("1"), "b": n("2"), "c": n("3")}}, ""},
		{"merge not a mapping", "x: {<<: 1}\n", nil, "parse config: yaml: map merge requires map or sequence of maps as the value"},
		{"non-string keys", "1: a\n-2: b\n1.5: c\n1e3: d\ntrue: e\nno: f\n.inf: g\n-.inf: h\n.nan: i\n0.1: j\n3.14159265358979: k\n16777217.0: l\n",
			m{"1": "a", "-2": "b", "1.5": "c", "1000": "d", "true": "e", "false": "f", ".inf": "g", "-.inf": "h", ".nan": "i", "0.1": "j",
				// float32 precision, as sigs.k8s.io/yaml writes a float key.
				"3.1415927": "k", "1.6777216e+07": "l"}, ""},
		{"null key", "~: x\n", nil, errKey},
		{"empty key", "? \n: x\n", nil, errKey},
		// sigs.k8s.io/yaml converts int, int64, float64 and bool keys, not
		// uint64 ones.
		{"key past int64", "18446744073709551615: x\n", nil, errKey},
		{"mapping key", "? [a, b]\n: c\n", nil, "parse config: yaml: invalid map key (a key must be a scalar)"},
		{"duplicate key", "a: 1\nb:\n  c: 2\n  c: 3\n", nil, "parse config: yaml: unmarshal errors:\n  line 4: key already set in map"},
		{"duplicate key and two documents", "a: 1\na: 2\n---\nb: 1\n", nil, errTwoDocs},
		{"two documents", "a: 1\n---\nb: 2\n", nil, errTwoDocs},
		{"empty second document", "a: 1\n---\n", m{"a": n("1")}, ""},
		{"empty documents after", "a: 1\n---\n# end\n---\n...\n", m{"a": n("1")}, ""},
		{"null second document", "a: 1\n--- ~\n", m{"a": n("1")}, ""},
		{"empty document then one", "a: 1\n---\n---\nb: 2\n", nil, errTwoDocs},
		{"merge overridden", "base: &b {a: 1, c: 2}\nx:\n  <<: *b\n  a: 3\n",
			m{"base": m{"a": n("1"), "c": n("2")}, "x": m{"a": n("3"), "c": n("2")}}, ""},
		{"merge list overlapping", "p: &p {a: 1}\nq: &q {a: 2, b: 2}\nx: {<<: [*p, *q], b: 3}\n",
			m{"p": m{"a": n("1")}, "q": m{"a": n("2"), "b": n("2")}, "x": m{"a": n("1"), "b": n("3")}}, ""},
		{"merge overridden in a merged mapping", "b: &b {a: 1}\nc: &c {<<: *b, a: 2}\nx: {<<: *c, d: 3}\n",
			m{"b": m{"a": n("1")}, "c": m{"a": n("2")}, "x": m{"a": n("2"), "d": n("3")}}, ""},
		{"merge after the key it overrides", "base: &b {a: 1}\nx: {a: 3, <<: *b}\n", nil,
			"parse config: a merge key (<<) overrides a key written before it in the same mapping; write << first"},
		{"duplicate key beside a merge", "base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n  c: 3\n", nil,
			"parse config: yaml: unmarshal errors:\n  line 5: key already set in map"},
		{"second document broken", "a: 1\n---\nb: [\n", nil, errTwoDocs},
		{"first document broken", "a: [\n---\nb: 2\n", nil, "line 1: did not find expected node content"},
		{"end marker", "a: 1\n...\n", m{"a": n("1")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseYAML([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got %v\nwant %s", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("tree:\n got %#v\nwant %#v", got, tt.want)
			}
			checkSameAsTwice(t, []byte(tt.doc))
		})
	}
}

// TestParseYAMLKeyCollision checks that two keys YAML tells apart and JSON
// does not are an error naming the key, not a value kept at random.
func TestParseYAMLKeyCollision(t *testing.T) {
	const secret = "s3cr3t-4242"
	tests := []struct{ doc, key string }{
		{"1: " + secret + "\n'1': " + secret + "\n", "1"},
		{"1.0: " + secret + "\n1: x\n", "1"},
		{"true: x\n'true': " + secret + "\n", "true"},
		{"yes: x\n'true': " + secret + "\n", "true"},
		{"1e3: x\n1000: " + secret + "\n", "1000"},
		{"? !!binary /w==\n: x\n? !!binary /g==\n: " + secret + "\n", "\ufffd"},
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			_, err := parseYAML([]byte(tt.doc))
			if err == nil {
				t.Fatal("parsed")
			}
			if strings.Contains(err.Error(), "4242") {
				t.Fatal("the error shows the secret")
			}
			want := "parse config: key " + strconv.Quote(tt.key) + " is set twice in one mapping (a number or boolean key counts as its text)"
			if err.Error() != want {
				t.Errorf("error:\n got %v\nwant %s", err, want)
			}
		})
	}
}

// TestParseYAMLKeyErrorHidesValue checks that a key parseYAML refuses does
// not bring the value beside it into the error, as sigs.k8s.io/yaml's did.
func TestParseYAMLKeyErrorHidesValue(t *testing.T) {
	const secret = "s3cr3t-4242"
	for _, doc := range []string{
		"a: {~: " + secret + "}\n",
		"a: [{18446744073709551615: " + secret + "}]\n",
		"? \n: {value: " + secret + "}\n",
	} {
		_, err := parseYAML([]byte(doc))
		if err == nil || strings.Contains(err.Error(), "4242") || err.Error() != errKey {
			t.Errorf("want %q, got a different error or none (secret shown: %t)", errKey, err != nil && strings.Contains(err.Error(), "4242"))
		}
	}
}

// FuzzParseYAML checks that parseYAML gives the tree or the error
// parseYAMLTwice gives, over the edge cases above and FuzzLoadConfig's seed
// corpus; `go test -fuzz FuzzParseYAML` searches further.
func FuzzParseYAML(f *testing.F) {
	for _, doc := range []string{
		v1beta1Header + "hosts: [{host: r.example, maxChunkSize: 0012, credential: {value: '${TOKEN}'}}]\n",
		v1beta2Header + "x: &a {b: &c [1, 2.5, yes, ~]}\nhosts:\n- <<: {host: r.example}\n  maxChunkSize: 1e3\nartifacts: [*a, *c]\n",
		"a: 0012\nb: '0012'\nc: on\nd: off\ne: ~\nf: 1.5\ng: 1e3\nh: .inf\n",
		"a: .nan\n~: x\n",
		"a: 1\na: 2\n",
		"1: a\n'1': b\n",
		"a:\tb\n\tc: d\n",
		"{a: [1, {b: c}], ? d : e}",
		"a: !!binary aGk=\nb: !!binary /w==\n",
		"a: 99999999999999999999999\nb: -99999999999999999999\nc: 18446744073709551615\n",
		"a: 1\n---\nb: 2\n",
		"--- \n...\n",
		"",
	} {
		f.Add([]byte(doc))
	}
	for _, doc := range readFuzzCorpus(f, filepath.Join("testdata", "fuzz", "FuzzLoadConfig")) {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameAsTwice(t, data)
	})
}

// checkSameAsTwice fails t unless parseYAML and parseYAMLTwice agree on
// data: the same tree, or errors of the same class.
func checkSameAsTwice(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := parseYAMLTwice(data)
	got, err := parseYAML(data)
	switch {
	case err != nil && strings.Contains(err.Error(), " is set twice in one mapping "):
		// parseYAMLTwice kept one of the two values at random.
	case err == nil && wantErr != nil && (wantErr.Error() == errTwoDocs ||
		strings.Contains(wantErr.Error(), "already set in map") && bytes.Contains(data, []byte("<<"))):
		// Valid YAML parseYAMLTwice refused: empty documents after the
		// first, a key that overrides a merge. TestParseYAML pins the trees.
	case err != nil && strings.HasPrefix(err.Error(), "parse config: a merge key (<<) overrides") &&
		wantErr != nil && strings.Contains(wantErr.Error(), "already set in map"):
		// Both refuse it, parseYAMLTwice for a reason that is not one.
	case err == nil && wantErr == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("tree of %q:\n one parse %#v\n two parses %#v", data, got, want)
		}
	case err == nil || wantErr == nil:
		t.Fatalf("%q: one parse says %v, two parses say %v", data, err, wantErr)
	case errorClass(err) != errorClass(wantErr):
		t.Fatalf("%q: one parse says %q, two parses say %q", data, err, wantErr)
	}
}

// errorClass is the error's message, except that a refused key and a
// number JSON cannot hold are one class: a document with both reports
// whichever each implementation meets first.
func errorClass(err error) string {
	switch msg := err.Error(); {
	case msg == errKey, msg == errNotFinite, strings.HasPrefix(msg, "parse config: json: unsupported value: "):
		return "key or number"
	default:
		return msg
	}
}

// readFuzzCorpus returns the []byte inputs of a `go test fuzz v1` corpus
// folder.
func readFuzzCorpus(f *testing.F, dir string) [][]byte {
	f.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	if len(entries) == 0 {
		f.Fatalf("%s: no corpus files", dir)
	}
	var docs [][]byte
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		header, value, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		quoted, ok := strings.CutPrefix(value, "[]byte(")
		quoted, ok2 := strings.CutSuffix(quoted, ")")
		doc, err := strconv.Unquote(quoted)
		if header != "go test fuzz v1" || !ok || !ok2 || err != nil {
			f.Fatalf("%s: not a one-[]byte go test fuzz v1 file", e.Name())
		}
		docs = append(docs, []byte(doc))
	}
	return docs
}
