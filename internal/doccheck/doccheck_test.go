package doccheck

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	// citation is a document name followed by the sections it cites:
	// "docs/protocol.md §3.1, §5.2 and §13". Sections after the name are
	// separated by spaces, commas, semicolons, "and" or "or".
	citation = regexp.MustCompile(`docs/([A-Za-z0-9_-]+)\.md((?:(?:[\s,;]|\band\b|\bor\b)*§\d+(?:\.\d+)*)*)`)
	// section is one "§N" or "§N.M".
	section = regexp.MustCompile(`§(\d+(?:\.\d+)*)`)
	// heading is a Markdown heading that numbers its section:
	// "## 3. Packing" or "### 3.1 Envelope v1".
	heading = regexp.MustCompile(`^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s`)
	// outside are references to documents that are not in the repository.
	outside = []string{"shared/docs", "../shared"}
)

// TestCitations checks every comment of every Go file in the repository.
func TestCitations(t *testing.T) {
	root := repoRoot(t)
	docs := loadDocs(t, filepath.Join(root, "docs"))
	files := goFiles(t, root)
	n := 0
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		for _, p := range checkFile(t, path, docs, &n) {
			t.Errorf("%s:%s", filepath.ToSlash(rel), p)
		}
	}
	if n == 0 {
		t.Fatalf("no citation of docs/ found in %d Go files: is the pattern broken?", len(files))
	}
	t.Logf("%d citations checked in %d Go files", n, len(files))
}

// TestREADMELinks checks that the docs/ files README.md names exist.
func TestREADMELinks(t *testing.T) {
	root := repoRoot(t)
	docs := loadDocs(t, filepath.Join(root, "docs"))
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`docs/([A-Za-z0-9_-]+)\.md`).FindAllStringSubmatch(string(b), -1) {
		if _, ok := docs[m[1]]; !ok {
			t.Errorf("README.md links docs/%s.md, which does not exist", m[1])
		}
	}
	for _, o := range outside {
		if strings.Contains(string(b), o) {
			t.Errorf("README.md refers to %q, outside the repository", o)
		}
	}
}

// checkFile returns the problems of the comments of one Go file, each
// prefixed with its line, and adds the citations it found to *n.
func checkFile(t *testing.T, path string, docs map[string]map[string]bool, n *int) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var problems []string
	for _, g := range f.Comments {
		start := fset.Position(g.Pos()).Line
		text := commentText(g.List, fset)
		line := func(off int) int { return start + strings.Count(text[:off], "\n") }
		for _, o := range outside {
			if i := strings.Index(text, o); i >= 0 {
				problems = append(problems, fmt.Sprintf("%d: refers to %q, outside the repository", line(i), o))
			}
		}
		covered := make([]bool, len(text))
		for _, m := range citation.FindAllStringSubmatchIndex(text, -1) {
			*n++
			name := text[m[2]:m[3]]
			for i := m[0]; i < m[1]; i++ {
				covered[i] = true
			}
			sections, ok := docs[name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%d: cites docs/%s.md, which does not exist", line(m[0]), name))
				continue
			}
			for _, s := range section.FindAllStringSubmatch(text[m[4]:m[5]], -1) {
				if !sections[s[1]] {
					problems = append(problems, fmt.Sprintf("%d: cites docs/%s.md §%s, which has no such section", line(m[0]), name, s[1]))
				}
			}
		}
		for _, m := range section.FindAllStringIndex(text, -1) {
			if !covered[m[0]] {
				problems = append(problems, fmt.Sprintf("%d: %q names no document (write docs/FILE.md %s)", line(m[0]), text[m[0]:m[1]], text[m[0]:m[1]]))
			}
		}
	}
	return problems
}

// commentText returns the text of a comment group without comment
// markers, one line of text per line of source, so that an offset's line
// is the group's first line plus the newlines before it.
func commentText(list []*ast.Comment, fset *token.FileSet) string {
	var b strings.Builder
	prev := 0
	for _, c := range list {
		l := fset.Position(c.Pos()).Line
		if prev != 0 {
			for range l - prev {
				b.WriteByte('\n')
			}
		}
		s := c.Text
		if strings.HasPrefix(s, "//") {
			s = s[2:]
		} else {
			s = strings.TrimSuffix(strings.TrimPrefix(s, "/*"), "*/")
		}
		b.WriteString(s)
		prev = l + strings.Count(c.Text, "\n")
	}
	return b.String()
}

// loadDocs returns, for each Markdown file of docs/ (by name without
// ".md"), the set of its section numbers.
// A number given to two headings of one file is an error: citations must
// resolve to one section.
func loadDocs(t *testing.T, dir string) map[string]map[string]bool {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md in %s (%v)", dir, err)
	}
	docs := make(map[string]map[string]bool)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sections := make(map[string]bool)
		sc := bufio.NewScanner(f)
		inFence := false
		for sc.Scan() {
			l := sc.Text()
			if strings.HasPrefix(l, "```") {
				inFence = !inFence
				continue
			}
			if m := heading.FindStringSubmatch(l); m != nil && !inFence {
				if sections[m[1]] {
					t.Errorf("%s: section %s is numbered twice", p, m[1])
				}
				sections[m[1]] = true
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		docs[strings.TrimSuffix(filepath.Base(p), ".md")] = sections
	}
	return docs
}

// goFiles returns the Go files of the repository, leaving out hidden
// directories, testdata and node_modules, as the go command does.
func goFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// repoRoot returns the directory of go.mod above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
