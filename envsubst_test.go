package main

import (
	"strings"
	"testing"
)

// lookupTestEnv looks name up in the whole environment of the
// substitution tests.
func lookupTestEnv(name string) (string, bool) {
	v, ok := map[string]string{"A": "a", "EMPTY": "", "B_2": "b2", "_U": "u"}[name]
	return v, ok
}

// TestSubstitute checks every form substitute expands (docs/config.md,
// "Environment substitution") on a single string.
func TestSubstitute(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"plain", "plain", ""},
		{"${A}", "a", ""},
		{"x${A}y${B_2}z${_U}", "xayb2zu", ""},
		{"${EMPTY}", "", ""},
		{"${UNSET}", "", `variable "UNSET" is not set`},
		{"${A}${UNSET}", "", `variable "UNSET" is not set`},
		{"${UNSET:-d}", "d", ""},
		{"${EMPTY:-d}", "d", ""},
		{"${A:-d}", "a", ""},
		{"${UNSET:=d}", "d", ""},
		{"${EMPTY:=d}", "d", ""},
		{"${A:=d}", "a", ""},
		{"${UNSET:-}", "", ""},
		{"${UNSET:-a b: c # d}", "a b: c # d", ""},
		{"${UNSET:-${A}}", "a", ""},
		{"${UNSET:-x${UNSET2:-y}z}", "xyz", ""},
		{"${A:-${UNSET}}", "a", ""},
		{"${UNSET:-${UNSET2}}", "", `variable "UNSET2" is not set`},
		{"${UNSET:-$$}", "$", ""},
		{"${A:-d}}", "a}", ""},
		{"$$", "$", ""},
		{"$${A}", "${A}", ""},
		{"$$$", "$$", ""},
		{"a$$b", "a$b", ""},
		{"$A", "$A", ""},
		{"$patch", "$patch", ""},
		{"a$", "a$", ""},
		{"$", "$", ""},
		{"$ {A}", "$ {A}", ""},
		{"}", "}", ""},
		{"${", "", "bad substitution at offset 0: want a variable name after ${"},
		{"${}", "", "bad substitution at offset 0: want a variable name after ${"},
		{"x${1A}", "", "bad substitution at offset 1: want a variable name after ${"},
		{"${A", "", "bad substitution at offset 0: missing closing brace"},
		{"${A:-d", "", "bad substitution at offset 0: missing closing brace"},
		{"${UNSET:-${A}", "", "bad substitution at offset 0: missing closing brace"},
		{"${A-d}", "", "bad substitution at offset 0: want }, :- or := after the variable name"},
		{"${A:+d}", "", "bad substitution at offset 0: want }, :- or := after the variable name"},
		{"${#A}", "", "bad substitution at offset 0: want a variable name after ${"},
		{"${A.B}", "", "bad substitution at offset 0: want }, :- or := after the variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := substitute(tt.in, lookupTestEnv)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("substitute(%q) = %q, %v; want error %s", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("substitute(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestSubstituteDocument checks substitution on the parsed document: in
// keys and string values, never in comments, and a substituted value is
// kept as a string byte for byte, whatever YAML would make of it as text.
func TestSubstituteDocument(t *testing.T) {
	tests := []struct {
		name  string
		token string // $TOKEN
		doc   string // hosts[0]'s credential block
		want  string // the value loaded
	}{
		{"plain", "static-token", "{value: '${TOKEN}'}", "static-token"},
		{"comment", "a#b #c", "{value: '${TOKEN}'}", "a#b #c"},
		{"colon space", "a: b", "{value: '${TOKEN}'}", "a: b"},
		{"quotes", `"it's"`, "{value: '${TOKEN}'}", `"it's"`},
		{"leading star", "*alias", "{value: '${TOKEN}'}", "*alias"},
		{"leading ampersand and bang", "&a !b", "{value: '${TOKEN}'}", "&a !b"},
		{"digits only", "0123456789", "{value: '${TOKEN}'}", "0123456789"},
		{"boolean word", "yes", "{value: '${TOKEN}'}", "yes"},
		{"null word", "null", "{value: '${TOKEN}'}", "null"},
		{"flow characters", "[a, {b: c}]", "{value: '${TOKEN}'}", "[a, {b: c}]"},
		{"newline and spaces", " a\n b ", "{value: '${TOKEN}'}", " a\n b "},
		{"dollar and braces", "$${X}", "{value: '${TOKEN}'}", "$${X}"},
		{"unquoted placeholder", "tok", "\n    value: ${TOKEN}\n", "tok"},
		{"placeholder in a comment is not read", "tok", "\n    # ${NOT_SET} is documented here\n    value: ${TOKEN} # ${ALSO_NOT_SET}\n", "tok"},
		{"key", "tok", "{'${KEY}': '${TOKEN}'}", "tok"},
		{"key with default", "tok", "{'${NO_KEY:-value}': '${TOKEN}'}", "tok"},
		{"escaped dollar", "tok", "{value: 'p$$ss'}", "p$ss"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"TOKEN": tt.token, "KEY": "value"}
			doc := v1beta1Header + "hosts:\n- host: r.example\n  credential: " + tt.doc + "\n"
			cfg, err := parseDoc(t.TempDir(), doc, env)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Hosts[0].Credential.Value; got != tt.want {
				t.Errorf("value = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSubstituteDocumentErrors checks that substitution errors say where
// they are and which variable is missing.
func TestSubstituteDocumentErrors(t *testing.T) {
	env := map[string]string{"TOKEN": "tok", "KEY": "value"}
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"unset in a value", "hosts:\n- host: r.example\n  credential: {value: '${MY_TOKEN}'}\n",
			`substitute environment variables: hosts[0]: credential: value: variable "MY_TOKEN" is not set`},
		{"unset in a key", "hosts:\n- host: r.example\n  credential: {'${CRED_KEY}': x}\n",
			`substitute environment variables: hosts[0]: credential: key "${CRED_KEY}": variable "CRED_KEY" is not set`},
		{"unset in a list", "hosts:\n- host: r.example\n  credential: {provider: aws, aud: x}\nartifacts: [a, '${NOPE}']\n",
			`substitute environment variables: artifacts[1]: variable "NOPE" is not set`},
		{"malformed", "hosts:\n- host: r.example\n  credential: {value: 'a${TOKEN'}\n",
			"substitute environment variables: hosts[0]: credential: value: bad substitution at offset 1: missing closing brace"},
		{"two keys become one", "hosts:\n- host: r.example\n  credential: {value: a, '${KEY}': b}\n",
			`substitute environment variables: hosts[0]: credential: keys "${KEY}" and "value" are both "value"`},
		{"empty value leaves no source", "hosts:\n- host: r.example\n  credential: {value: '${EMPTY}'}\n",
			"hosts[0]: credential.value is empty after substituting ${EMPTY}"},
	}
	env["EMPTY"] = ""
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDoc(t.TempDir(), v1beta1Header+tt.doc, env)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestNoEnvsubst checks that with substitution off every ${...} and $$ is
// kept as written and nothing is looked up.
func TestNoEnvsubst(t *testing.T) {
	doc := v1beta1Header + "hosts:\n- host: r.example\n  credential: {value: '${MY_LOGIN_TOKEN}$$x${'}\n"
	cfg, err := parseConfig([]byte(doc), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Hosts[0].Credential.Value, "${MY_LOGIN_TOKEN}$$x${"; got != want {
		t.Errorf("value = %q, want %q", got, want)
	}
	if _, err := parseConfig([]byte(strings.Replace(doc, "value", "'${KEY}'", 1)), t.TempDir(), nil); err == nil ||
		err.Error() != `hosts[0]: credential: unknown field "${KEY}"` {
		t.Errorf("an unsubstituted key: %v", err)
	}
}
