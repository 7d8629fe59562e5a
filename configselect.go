package main

// Environment substitution under a selection: a command reads only the
// variables of the hosts it works on, and of those only the ones it uses.

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// selection is what of the config a command needs. Every command loads
// the config through it (loadSelected), so that the variables a command
// does not need are never required.
type selection struct {
	// hosts are the --host names (compared without case), and keys the
	// Docker config keys (registryKey), such as the credential helper is
	// asked for; when both are empty, every host is selected.
	hosts []string
	keys  []string
	// namesOnly is for a command that needs the hosts' names and
	// usernames but no secret (logout, status): the rest of a credential
	// block keeps a ${VAR} whose variable is unset as written. Such a
	// config must never reach a resolver.
	namesOnly bool
}

// selects reports whether the host named name is selected.
func (s selection) selects(name string) bool {
	if len(s.hosts) == 0 && len(s.keys) == 0 {
		return true
	}
	return slices.ContainsFunc(s.hosts, func(h string) bool { return strings.EqualFold(h, name) }) ||
		slices.Contains(s.keys, registryKey(name))
}

// substituteConfig substitutes the parsed config doc under sel: the
// selected hosts' fields (their credential's, for namesOnly, only the
// username) strictly, as substituteTree does, and everything else of
// hosts[] leniently (an unset or empty variable stays as written), so that it is
// still validated but needs no variable. The entries outside hosts[] are
// substituted strictly, as before. It returns the warnings about values
// that look like a reference but stay literal.
func substituteConfig(doc any, lookup func(string) (string, bool), sel selection) (any, []string, error) {
	top, ok := doc.(map[string]any)
	hosts, isList := top["hosts"].([]any)
	if !ok || !isList {
		// Not the shape of a config: decoding says what is wrong.
		out, err := substituteTree("", doc, lookup)
		return out, nil, err
	}
	rest := maps.Clone(top)
	delete(rest, "hosts")
	out, err := substituteTree("", rest, lookup)
	if err != nil {
		return nil, nil, err
	}
	outTop := out.(map[string]any)
	if _, clash := outTop["hosts"]; clash {
		return nil, nil, fmt.Errorf("a key substitutes to %q, which is written too", "hosts")
	}
	// lenient keeps a reference to an unset or empty variable as written:
	// the value is never used, and an empty one would fail validation.
	lenient := func(name string) (string, bool) {
		if v, _ := lookup(name); v != "" {
			return v, true
		}
		return "${" + name + "}", true
	}
	var warnings []string
	outHosts := make([]any, len(hosts))
	for i, e := range hosts {
		at := "hosts[" + strconv.Itoa(i) + "]"
		if !hasDollar(e) {
			// Nothing to substitute or warn about: most hosts of a large
			// config, which should cost no copy.
			outHosts[i] = e
			continue
		}
		entry, ok := e.(map[string]any)
		if !ok {
			if outHosts[i], err = substituteTree(at, e, lookup); err != nil {
				return nil, nil, err
			}
			continue
		}
		name, err := substituteTree(prefix(at)+"host", entry["host"], lookup)
		if err != nil {
			return nil, nil, err
		}
		s, _ := name.(string)
		selected := sel.selects(s)
		strict := func(field string) bool {
			switch {
			case !selected:
				return false
			case !sel.namesOnly:
				return true
			}
			return !strings.HasPrefix(field, "credential.") || field == "credential.username"
		}
		written := flatten(entry)
		outEntry, err := substituteFields(at, entry, "", lookup, lenient, strict)
		if err != nil {
			return nil, nil, err
		}
		done := flatten(outEntry)
		for _, field := range slices.Sorted(maps.Keys(written)) {
			if !strict(field) {
				continue
			}
			w := written[field]
			if d, ok := done[field]; ok && d == "" && strings.Contains(w, "${") && !emptyAllowed[field[strings.LastIndex(field, ".")+1:]] {
				// Every character of a value that substitutes to nothing
				// is reference syntax or a name: quoting it shows no
				// secret.
				return nil, nil, emptiedError{fmt.Sprintf("%s: %s is empty after substituting %s", at, field, w)}
			}
			if bareReference.MatchString(w) {
				warnings = append(warnings, fmt.Sprintf("%s: %s is %q, which is used as written: only ${VAR} is substituted; write ${%s} to use the variable",
					at, field, w, w[1:]))
			}
		}
		outHosts[i] = outEntry
	}
	outTop["hosts"] = outHosts
	return outTop, warnings, nil
}

// emptyAllowed are the fields an empty value leaves valid (no envelope,
// the default expiration, no provider): substituting one to nothing is
// allowed, as substitution allows a set-but-empty variable. Any other field
// of a host is then missing, a failure the error should pin on the
// variable.
var emptyAllowed = map[string]bool{"envelope": true, "expiration": true, "exp": true, "provider": true}

// emptiedError is a value that substitutes to nothing: the whole message
// already says it was substitution.
type emptiedError struct{ msg string }

func (e emptiedError) Error() string { return e.msg }

// bareReference is a whole value written $NAME, as a shell would expand
// it; here only ${NAME} is substituted, so it stays literal, which is
// never what the user meant. Only a whole value is quoted in the warning:
// a $ inside a longer value may be part of a literal secret.
var bareReference = regexp.MustCompile(`^\$[A-Za-z_][A-Za-z0-9_]*$`)

// substituteFields substitutes the mapping m, whose fields sit at path
// under at (dotted, "" at the host), with lookup where strict says so and
// with lenient elsewhere.
func substituteFields(at string, m map[string]any, path string, lookup, lenient func(string) (string, bool), strict func(string) bool) (map[string]any, error) {
	out := make(map[string]any, len(m))
	here := prefix(at) + strings.ReplaceAll(strings.TrimSuffix(path, "."), ".", ": ")
	// from maps each key to the key as written, to find two that become
	// one.
	from := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		field := path + k
		look := lenient
		if strict(field) {
			look = lookup
		}
		var v any
		var err error
		if sub, ok := m[k].(map[string]any); ok && k == "credential" && path == "" {
			// The credential's fields differ: a username is needed where
			// the secret is not.
			v, err = substituteFields(at, sub, "credential.", lookup, lenient, strict)
		} else {
			v, err = substituteTree(prefix(at)+strings.ReplaceAll(field, ".", ": "), m[k], look)
		}
		if err != nil {
			return nil, err
		}
		key := k
		if strings.Contains(k, "$") {
			if key, err = substitute(k, look); err != nil {
				return nil, fmt.Errorf("%skey %q: %w", prefix(here), k, err)
			}
		}
		if first, dup := from[key]; dup {
			return nil, fmt.Errorf("%skeys %q and %q are both %q", prefix(here), first, k, key)
		}
		from[key] = k
		out[key] = v
	}
	return out, nil
}

// hasDollar reports whether a key or a string value in node holds a $.
func hasDollar(node any) bool {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if strings.Contains(k, "$") || hasDollar(v) {
				return true
			}
		}
	case []any:
		for _, v := range n {
			if hasDollar(v) {
				return true
			}
		}
	case string:
		return strings.Contains(n, "$")
	}
	return false
}

// flatten maps the dotted path of every string value in a host entry to
// the value ("credential.value", "tls.serverAuth.value",
// "credential.audiences[0]").
func flatten(node any) map[string]string {
	out := map[string]string{}
	var walk func(path string, n any)
	walk = func(path string, n any) {
		switch n := n.(type) {
		case map[string]any:
			for k, v := range n {
				if path != "" {
					k = path + "." + k
				}
				walk(k, v)
			}
		case []any:
			for i, v := range n {
				walk(path+"["+strconv.Itoa(i)+"]", v)
			}
		case string:
			out[path] = n
		}
	}
	walk("", node)
	return out
}
