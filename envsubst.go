package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// substituteTree expands environment references (see substitute) in the
// keys and string values of a parsed config, leaving numbers, booleans and
// nulls as they are. at is where node sits, for errors. A part without a $
// is returned as it is: copying and sorting every mapping of a 200-host
// config would cost more than reading it.
func substituteTree(at string, node any, lookup func(string) (string, bool)) (any, error) {
	if !holdsDollar(node) {
		return node, nil
	}
	switch n := node.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		written := make(map[string]string, len(n)) // key -> as written
		// Sorted, so that of several bad entries the same one is reported
		// every time.
		for _, k := range slices.Sorted(maps.Keys(n)) {
			key, err := substitute(k, lookup)
			if err != nil {
				return nil, fmt.Errorf("%skey %q: %w", prefix(at), k, err)
			}
			if first, dup := written[key]; dup {
				return nil, fmt.Errorf("%skeys %q and %q are both %q", prefix(at), first, k, key)
			}
			written[key] = k
			if out[key], err = substituteTree(prefix(at)+key, n[k], lookup); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(n))
		for i, e := range n {
			var err error
			if out[i], err = substituteTree(at+"["+strconv.Itoa(i)+"]", e, lookup); err != nil {
				return nil, err
			}
		}
		return out, nil
	case string:
		s, err := substitute(n, lookup)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		return s, nil
	}
	return node, nil
}

// holdsDollar reports whether a key or string value in node holds a $.
func holdsDollar(node any) bool {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if strings.Contains(k, "$") || holdsDollar(v) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(n, holdsDollar)
	case string:
		return strings.Contains(n, "$")
	}
	return false
}

// substitute expands the environment references in s (SPEC 2.4):
//
//	${VAR}           VAR's value; VAR must be set, possibly to ""
//	${VAR:-default}  default when VAR is unset or empty
//	${VAR:=default}  the same (a shell would also assign VAR; nothing here reads it back)
//	$$               a literal $
//	$x               a literal $ followed by x: only ${ starts a reference
//
// A default may hold references itself; as in a shell, they are looked up
// only when the default is used. Errors give the variable's name or the
// byte offset of a malformed reference, never text around it: s can hold a
// secret written literally.
func substitute(s string, lookup func(string) (string, bool)) (string, error) {
	e := expander{s: s, lookup: lookup}
	return e.text(false, true)
}

type expander struct {
	s      string
	i      int
	lookup func(string) (string, bool)
}

// text expands from e.i to the end of s or, in a default, to the first
// brace outside a reference, which it leaves unread. With eval false it
// only checks the syntax.
func (e *expander) text(inDefault, eval bool) (string, error) {
	var b strings.Builder
	for e.i < len(e.s) {
		c := e.s[e.i]
		switch {
		case c == '}' && inDefault:
			return b.String(), nil
		case c != '$' || e.i+1 == len(e.s):
			b.WriteByte(c)
			e.i++
		case e.s[e.i+1] == '$':
			b.WriteByte('$')
			e.i += 2
		case e.s[e.i+1] == '{':
			v, err := e.reference(eval)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		default:
			b.WriteByte('$')
			e.i++
		}
	}
	return b.String(), nil
}

// reference expands the ${...} that starts at e.i.
func (e *expander) reference(eval bool) (string, error) {
	start := e.i
	e.i += 2
	n := nameLength(e.s[e.i:])
	if n == 0 {
		return "", fmt.Errorf("bad substitution at offset %d: want a variable name after ${", start)
	}
	name := e.s[e.i : e.i+n]
	e.i += n
	rest := e.s[e.i:]
	switch {
	case strings.HasPrefix(rest, "}"):
		e.i++
		if !eval {
			return "", nil
		}
		v, ok := e.lookup(name)
		if !ok {
			return "", fmt.Errorf("variable %q is not set", name)
		}
		return v, nil
	case strings.HasPrefix(rest, ":-"), strings.HasPrefix(rest, ":="):
		e.i += 2
		var v string
		if eval {
			v, _ = e.lookup(name)
		}
		def, err := e.text(true, eval && v == "")
		if err != nil {
			return "", err
		}
		if e.i == len(e.s) {
			return "", fmt.Errorf("bad substitution at offset %d: missing closing brace", start)
		}
		e.i++ // the closing brace
		if v == "" {
			return def, nil
		}
		return v, nil
	case rest == "":
		return "", fmt.Errorf("bad substitution at offset %d: missing closing brace", start)
	default:
		return "", fmt.Errorf("bad substitution at offset %d: want }, :- or := after the variable name", start)
	}
}

// nameLength is the length of the variable name at the start of s: a
// letter or underscore, then letters, digits and underscores.
func nameLength(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return i
		}
	}
	return len(s)
}
