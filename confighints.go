package main

// What a config error adds to say how to fix it: the header lines to
// write, the field a misspelt one was meant to be, where a v1beta1 field
// went in v1beta2, how to write a scalar YAML 1.1 reads as something else.

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// lineError is an error the YAML parser placed on a line of the file; the
// loader prints it as FILE:LINE: msg.
type lineError struct {
	line int
	msg  string
}

func (e lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// configHeader is the first lines of a config of apiVersion version.
func configHeader(version string, withKind bool) string {
	h := "apiVersion: " + version + "\n"
	if withKind {
		h += "kind: Config\n"
	}
	return h
}

// indent indents each line of text by four spaces, for a block of lines
// to copy shown under an error.
func indent(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

// missingHeader is the error of a config without apiVersion (and, when
// noKind, without kind): the lines to add, for the version whose fields
// the hosts are written in (v1beta2 unless only v1beta1 decodes them).
func missingHeader(doc any, noKind bool) error {
	version := apiVersionV1beta2
	if decodeNode("", doc, &configFile[hostFile]{}) != nil && decodeNode("", doc, &configFile[v1beta1Host]{}) == nil {
		version = apiVersionV1beta1
	}
	if noKind {
		return fmt.Errorf("apiVersion and kind are missing; add these two lines at the top of the file:\n%s", indent(configHeader(version, true)))
	}
	return fmt.Errorf("apiVersion is missing; add this line at the top of the file:\n%s", indent(configHeader(version, false)))
}

// movedFields says, for a field of one config version's type that the
// other version spells differently, what to write instead.
var movedFields = map[reflect.Type]map[string]string{
	reflect.TypeFor[hostFile](): {
		"username": "in v1beta2 the username moved to credential.username",
	},
	reflect.TypeFor[credentialFile](): {
		"iss": `in v1beta2 "iss" is "issuer"`,
		"sub": `in v1beta2 "sub" is "subject"`,
		"aud": `in v1beta2 "aud" is "audiences", a list`,
		"exp": `in v1beta2 "exp" is "expiration"`,
	},
	reflect.TypeFor[spiffeFile](): {
		"authorizeAny": `v1beta2 has no "authorizeAny"; set serverID or trustDomain`,
	},
	reflect.TypeFor[v1beta1Credential](): {
		"issuer":     `in v1beta1 "issuer" is "iss" (or set apiVersion: ` + apiVersionV1beta2 + `)`,
		"subject":    `in v1beta1 "subject" is "sub" (or set apiVersion: ` + apiVersionV1beta2 + `)`,
		"audiences":  `in v1beta1 "audiences" is "aud", one string (or set apiVersion: ` + apiVersionV1beta2 + `)`,
		"expiration": `in v1beta1 "expiration" is "exp" (or set apiVersion: ` + apiVersionV1beta2 + `)`,
		"type":       `v1beta1 has no credential type; remove it (or set apiVersion: ` + apiVersionV1beta2 + `)`,
		"username":   `in v1beta1 the username is a field of the host, beside credential (or set apiVersion: ` + apiVersionV1beta2 + `)`,
	},
}

// unknownField is the error of key, which the type t has no field for:
// where it moved, or the nearest known field.
func unknownField(at, key string, t reflect.Type, tags *structTags) error {
	msg := fmt.Sprintf("%sunknown field %q", prefix(at), key)
	if moved, ok := movedFields[t][key]; ok {
		return fmt.Errorf("%s: %s", msg, moved)
	}
	if near := nearestField(key, tags.sorted); near != "" {
		return fmt.Errorf("%s; did you mean %q?", msg, near)
	}
	return errors.New(msg)
}

// nearestField returns the known field key was most likely meant to be:
// one that differs only in case, else the closest within a third of its
// length in edits (a transposition is one edit), else "".
func nearestField(key string, known []string) string {
	best, bestDist := "", len(key)/3+1
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return k
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// bytes.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// scalarHint says how to write a value YAML 1.1 read as a boolean or a
// number where a string is wanted. The value itself is never quoted: it
// can be a secret. A number written for a duration is no secret, and the
// hint shows it with a unit.
func scalarHint(at string, node any) string {
	field := at[strings.LastIndex(at, " ")+1:]
	switch n := node.(type) {
	case bool:
		return `: YAML 1.1 reads y, yes, on, true, n, no, off and false as booleans; quote the value, as in "yes"`
	case json.Number:
		if field == "expiration" || field == "exp" {
			return fmt.Sprintf(`: write a duration with its unit, as in %q for %s seconds`, n+"s", n)
		}
		return `: quote the value, as in "0123" (YAML 1.1 reads 0123 as the octal number 83)`
	}
	return ""
}
