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
// nulls as they are. at is where node sits, for errors. It visits each
// node once, so its cost is linear in the size of the tree. A part without
// a $ is returned as it is: copying and sorting every mapping of a
// 200-host config would cost more than reading it.
func substituteTree(at string, node any, lookup func(string) (string, bool)) (any, error) {
	root := &treePath{key: at}
	out, _, err := substituteNode(root, node, lookup, false)
	if err != nil {
		// Of several bad entries, report the same one every time: the
		// first in sorted key order. Only a failed run pays for sorting.
		_, _, err = substituteNode(root, node, lookup, true)
	}
	return out, err
}

// treePath is where a node sits, spelled out only for an error: building
// the text for every node would cost the square of the depth.
type treePath struct {
	parent *treePath // nil at the root
	key    string    // the mapping key, or the root's name
	index  int       // the list index, when inList
	inList bool
}

func (p *treePath) String() string {
	switch {
	case p.parent == nil:
		return p.key
	case p.inList:
		return p.parent.String() + "[" + strconv.Itoa(p.index) + "]"
	}
	return prefix(p.parent.String()) + p.key
}

// substituteNode is substituteTree for one node, which reports whether the
// node changed; sorted visits mapping keys in sorted order.
func substituteNode(at *treePath, node any, lookup func(string) (string, bool), sorted bool) (any, bool, error) {
	switch n := node.(type) {
	case map[string]any:
		return substituteMapping(at, n, lookup, sorted)
	case []any:
		var out []any // nil until an element changes
		for i, e := range n {
			v, changed, err := substituteNode(&treePath{parent: at, index: i, inList: true}, e, lookup, sorted)
			if err != nil {
				return nil, false, err
			}
			if changed && out == nil {
				out = slices.Clone(n)
			}
			if out != nil {
				out[i] = v
			}
		}
		if out == nil {
			return n, false, nil
		}
		return out, true, nil
	case string:
		if !strings.Contains(n, "$") {
			return n, false, nil
		}
		s, err := substitute(n, lookup)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", at, err)
		}
		return s, true, nil
	}
	return node, false, nil
}

// substituteMapping is substituteNode for a mapping. A mapping is copied
// only when a key or a value in it changes.
func substituteMapping(at *treePath, n map[string]any, lookup func(string) (string, bool), sorted bool) (any, bool, error) {
	keys := maps.Keys(n)
	if sorted {
		keys = slices.Values(slices.Sorted(keys))
	}
	// written maps each key to the key as written, to find two that
	// become one; needed only when a key holds a $.
	var written map[string]string
	for k := range n {
		if strings.Contains(k, "$") {
			written = make(map[string]string, len(n))
			break
		}
	}
	var out map[string]any // nil until a key or a value changes
	for k := range keys {
		key := k
		if strings.Contains(k, "$") {
			var err error
			if key, err = substitute(k, lookup); err != nil {
				return nil, false, fmt.Errorf("%skey %q: %w", prefix(at.String()), k, err)
			}
		}
		if written != nil {
			if first, dup := written[key]; dup {
				return nil, false, fmt.Errorf("%skeys %q and %q are both %q", prefix(at.String()), first, k, key)
			}
			written[key] = k
		}
		v, changed, err := substituteNode(&treePath{parent: at, key: key}, n[k], lookup, sorted)
		if err != nil {
			return nil, false, err
		}
		if (changed || key != k) && out == nil {
			out = make(map[string]any, len(n))
		}
		if out != nil {
			out[key] = v
		}
	}
	if out == nil {
		return n, false, nil
	}
	// The entries visited before the first change were not copied: they
	// are the ones not in out whose key stays as written.
	for k, v := range n {
		if _, done := out[k]; done {
			continue
		}
		if strings.Contains(k, "$") {
			if key, _ := substitute(k, lookup); key != k {
				continue // in out under its new name
			}
		}
		out[k] = v
	}
	return out, true, nil
}

// substitute expands the environment references in s (docs/config.md,
// "Environment substitution"):
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
