package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestConfigLimits checks that a config past the size or nesting bound is
// refused with a clear error, quickly, and that one at the bounds loads.
func TestConfigLimits(t *testing.T) {
	nested := func(depth int, open, close string) string {
		return v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, value: x}}]\nartifacts: " +
			strings.Repeat(open, depth) + "'$${X}'" + strings.Repeat(close, depth) + "\n"
	}
	padded := func(size int) string {
		doc := v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, value: x}}]\n"
		return doc + "#" + strings.Repeat("x", size-len(doc)-2) + "\n"
	}
	tests := []struct {
		name string
		doc  string
		want string // "" loads
	}{
		// The top-level mapping is one level, artifacts' lists the others.
		{"lists at the bound", nested(maxConfigDepth-1, "[", "]"), ""},
		{"lists past the bound", nested(maxConfigDepth, "[", "]"), "parse config: mappings and lists nest deeper than 100 levels"},
		{"mappings past the bound", nested(maxConfigDepth, "{k: ", "}"), "parse config: mappings and lists nest deeper than 100 levels"},
		{"9000 levels", nested(9000, "{k: ", "}"), "parse config: mappings and lists nest deeper than 100 levels"},
		{"size at the bound", padded(maxConfigSize), ""},
		{"size past the bound", padded(maxConfigSize + 1), "config is larger than 4 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := parseDoc(t.TempDir(), tt.doc, map[string]string{})
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s", took)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestReadConfigBound checks that reading stops one byte past the bound,
// so that an endless stdin is refused rather than read.
func TestReadConfigBound(t *testing.T) {
	data, _, err := readConfig("-", endless{})
	if err != nil || len(data) != maxConfigSize+1 {
		t.Fatalf("read %d bytes, %v; want %d", len(data), err, maxConfigSize+1)
	}
	if _, err := loadConfig("-", endless{}, true); err == nil || err.Error() != "stdin: config is larger than 4 MiB" {
		t.Errorf("endless stdin: %v", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '#'
	}
	return len(p), nil
}

// TestSubstituteTreeCopies checks that substitution copies exactly the
// mappings and lists in which something changed, keeps every entry of
// them, and leaves the parsed tree as it was.
func TestSubstituteTreeCopies(t *testing.T) {
	type m = map[string]any
	type l = []any
	lookup := func(name string) (string, bool) {
		v, ok := map[string]string{"V": "v", "K": "k"}[name]
		return v, ok
	}
	tree := func() m {
		return m{
			"a": "plain", "$x": "literal key", "b": "${V}", "c": l{"p", "${V}", m{"q": "r"}},
			"same": m{"x": l{"y"}}, "${K}2": "renamed", "z": "$$",
		}
	}
	want := m{
		"a": "plain", "$x": "literal key", "b": "v", "c": l{"p", "v", m{"q": "r"}},
		"same": m{"x": l{"y"}}, "k2": "renamed", "z": "$",
	}
	// Map order is random: run it often enough to see each entry first.
	for range 50 {
		in := tree()
		got, err := substituteTree("", in, lookup)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got  %v\nwant %v", got, want)
		}
		if !reflect.DeepEqual(in, tree()) {
			t.Fatalf("the parsed tree changed: %v", in)
		}
		if reflect.ValueOf(got.(m)["same"]).UnsafePointer() != reflect.ValueOf(in["same"]).UnsafePointer() {
			t.Fatal("an unchanged mapping was copied")
		}
	}
	unchanged := m{"a": l{"b", m{"c": "d"}}}
	if got, _ := substituteTree("", unchanged, lookup); reflect.ValueOf(got).UnsafePointer() != reflect.ValueOf(unchanged).UnsafePointer() {
		t.Error("a tree without $ was copied")
	}
}

// TestSubstituteTreeLinear checks that substitution costs what the tree
// holds, not the square of its depth: 20,000 levels took 3 s (and 0.5 s
// with only the search fixed) when each level searched the whole subtree
// below it for a $ and spelled out its place; they take 20 ms.
func TestSubstituteTreeLinear(t *testing.T) {
	var node any = "${V}"
	for range 20000 {
		node = []any{node}
	}
	start := time.Now()
	got, err := substituteTree("", node, func(string) (string, bool) { return "v", true })
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s", took)
	}
	for range 20000 {
		got = got.([]any)[0]
	}
	if got != "v" {
		t.Errorf("innermost value %v, want v", got)
	}
}
