package main

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// The README and docs/ are what a newcomer follows: the code blocks that
// quote examples/ must be those files, and every relative link must lead
// somewhere.

// quotedExamples are the example files the README must quote in full: the
// three common recipes.
var quotedExamples = []string{
	"examples/ghcr/flux-mirror.yaml", "examples/ghcr/workflow.yaml",
	"examples/dockerhub/flux-mirror.yaml", "examples/dockerhub/workflow.yaml",
	"examples/ecr/flux-mirror.yaml", "examples/ecr/workflow.yaml",
}

// markdownLink matches a link in a markdown line: its target and its
// #fragment, each possibly empty.
var markdownLink = regexp.MustCompile(`\]\(([^)#\s]*)(?:#([^)\s]*))?\)`)

// TestDocsQuoteExamples checks every code block that follows a line
// linking to a file of examples/ (the block's caption): its text must be
// the file's, so the README and docs/ show what CI tests. go test -update
// copies the files into the blocks.
func TestDocsQuoteExamples(t *testing.T) {
	quoted := map[string]bool{}
	for _, doc := range markdownFiles(t) {
		lines := strings.Split(readDoc(t, doc), "\n")
		changed := false
		blocks := codeBlocks(t, doc)
		// From the last block up, so that a rewrite leaves the line
		// numbers of the blocks above it as they are.
		for i := len(blocks) - 1; i >= 0; i-- {
			b := blocks[i]
			target := examplesTarget(doc, b.caption)
			if target == "" {
				continue
			}
			want, err := os.ReadFile(target)
			if err != nil {
				t.Errorf("%s:%d: the caption links to %s: %v", doc, b.line, target, err)
				continue
			}
			if doc == "README.md" {
				quoted[target] = true
			}
			if b.text == string(want) {
				continue
			}
			if !*update {
				t.Errorf("%s:%d: the block differs from %s: run go test -update", doc, b.line, target)
				continue
			}
			body := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
			lines = slices.Concat(lines[:b.line], body, lines[b.line+strings.Count(b.text, "\n"):])
			changed = true
		}
		if changed {
			if err := os.WriteFile(doc, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range quotedExamples {
		if !quoted[f] {
			t.Errorf("README.md does not quote %s under a caption linking to it", f)
		}
	}
}

// pendingDocs are pages the README's contents link to that are being
// written on other branches; remove each when it lands.
var pendingDocs = []string{}

// TestDocsLinks checks that every relative link of the README and docs/
// names a file or folder of the repository, and that a #fragment into a
// markdown file names one of its headings.
func TestDocsLinks(t *testing.T) {
	for _, doc := range markdownFiles(t) {
		for i, line := range strings.Split(readDoc(t, doc), "\n") {
			if strings.HasPrefix(line, "    ") {
				continue // an indented code line
			}
			for _, m := range markdownLink.FindAllStringSubmatch(line, -1) {
				target, fragment := m[1], m[2]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				p := doc
				if target != "" {
					p = path.Join(path.Dir(doc), target)
				}
				if slices.Contains(pendingDocs, p) {
					continue
				}
				if _, err := os.Stat(filepath.FromSlash(p)); err != nil {
					t.Errorf("%s:%d: link to %s: no such file", doc, i+1, target)
					continue
				}
				if fragment != "" && strings.HasSuffix(p, ".md") && !slices.Contains(headingAnchors(t, p), fragment) {
					t.Errorf("%s:%d: link to %s#%s: no such heading in %s", doc, i+1, target, fragment, p)
				}
			}
		}
	}
}

// headingAnchors are the #fragments GitHub gives the headings of a
// markdown file: lower case, punctuation dropped, spaces made hyphens.
func headingAnchors(t *testing.T, doc string) []string {
	var anchors []string
	inCode := false
	for _, line := range strings.Split(readDoc(t, doc), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range title {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		anchors = append(anchors, b.String())
	}
	return anchors
}

// markdownFiles are README.md and docs/*.md.
func markdownFiles(t *testing.T) []string {
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md"}, docs...)
}

// codeBlock is a fenced code block of a markdown file.
type codeBlock struct {
	line    int    // the opening fence's line, from 1
	caption string // the last non-blank line before the fence
	text    string // the lines between the fences, each ending in \n
}

func codeBlocks(t *testing.T, doc string) []codeBlock {
	data := readDoc(t, doc)
	var (
		blocks  []codeBlock
		cur     *codeBlock
		fence   string
		caption string
	)
	for i, line := range strings.Split(data, "\n") {
		switch {
		case cur != nil && strings.TrimSpace(line) == fence:
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case strings.HasPrefix(strings.TrimSpace(line), "```"):
			trimmed := strings.TrimSpace(line)
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
			cur = &codeBlock{line: i + 1, caption: caption}
		case strings.TrimSpace(line) != "":
			caption = line
		}
	}
	if cur != nil {
		t.Errorf("%s:%d: code block not closed", doc, cur.line)
	}
	return blocks
}

// examplesTarget is the examples/ file the caption's last link names,
// relative to the repository, or "".
func examplesTarget(doc, caption string) string {
	links := markdownLink.FindAllStringSubmatch(caption, -1)
	if len(links) == 0 {
		return ""
	}
	p := path.Join(path.Dir(doc), links[len(links)-1][1])
	if !strings.HasPrefix(p, "examples/") {
		return ""
	}
	return p
}

func readDoc(t *testing.T, doc string) string {
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestReadmeDemo runs the README's offline demo as it is written, with
// the built flux-mirror in place of "go run .": it must print the lines
// the README shows, and store a JWT that verifies with the key it wrote.
func TestReadmeDemo(t *testing.T) {
	var demo, output string
	blocks := codeBlocks(t, "README.md")
	for i, b := range blocks {
		if strings.Contains(b.text, "cp examples/demo.yaml") && i+1 < len(blocks) &&
			strings.HasPrefix(blocks[i+1].caption, "The first command prints") {
			demo, _, _ = strings.Cut(b.text, "\n")
			output = blocks[i+1].text
		}
	}
	if demo == "" || output == "" {
		t.Fatal(`README.md: no demo block holding "cp examples/demo.yaml", followed by "The first command prints:" and its output`)
	}
	config, err := os.ReadFile(filepath.Join("examples", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	command := strings.ReplaceAll(demo, "go run .", "flux-mirror")
	script := "# The README's demo prints what the README says.\n" +
		"exec sh -c " + shellQuote(command) + "\n" +
		"cmp stdout want.txt\n" +
		"! stderr .\n" +
		"jwtclaims demo/docker/config.json registry.example.com demo/keys/pubkey.json\n" +
		"stdout 'iss=https://ci.example.com '\n\n" +
		"-- want.txt --\n" + output +
		"-- examples/demo.yaml --\n" + string(config)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "readme-demo.txt"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	runScripts(t, dir, false)
}

// shellQuote quotes s for testscript's argument syntax: in single
// quotes, each single quote doubled.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
