// Package sente_test checks the repository's README against the code.
package sente_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleFiles are the files whose Example functions the README quotes.
var exampleFiles = []string{
	"transit/example_test.go",
	"protocol/example_test.go",
	"web/example_test.go",
	"web/example_metrics_test.go",
}

// goSnippets returns the ```go blocks of a Markdown text, without their
// fences.
func goSnippets(md string) []string {
	var snippets []string
	var cur []string
	in := false
	for line := range strings.Lines(md) {
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			snippets = append(snippets, strings.Join(cur, ""))
		case in:
			cur = append(cur, line)
		}
	}
	return snippets
}

// indent indents every non-empty line of s by one tab, as gofmt does the
// body of a function.
func indent(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if strings.TrimSpace(line) != "" {
			b.WriteByte('\t')
		}
		b.WriteString(line)
	}
	return b.String()
}

// TestREADMESnippetsAreExamples checks that every Go snippet of README.md
// is, line for line, part of the body of an Example function (whose
// output go test checks), so that the README's code compiles, runs and
// prints what it says.
func TestREADMESnippetsAreExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var examples []string
	for _, name := range exampleFiles {
		b, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		examples = append(examples, string(b))
	}
	snippets := goSnippets(string(readme))
	if len(snippets) == 0 {
		t.Fatal("README.md has no ```go snippet")
	}
	for i, s := range snippets {
		want := indent(s)
		found := false
		for j, ex := range examples {
			if k := strings.Index(ex, want); k >= 0 {
				before := ex[:k]
				fn := before[strings.LastIndex(before, "\nfunc ")+1:]
				if strings.HasPrefix(fn, "func Example") {
					t.Logf("snippet %d is in %s, %s", i+1, exampleFiles[j], fn[:strings.Index(fn, "\n")])
					found = true
					break
				}
			}
		}
		if !found {
			t.Errorf("README.md's Go snippet %d is in no Example function of %s (copy the example's body, one tab less):\n%s",
				i+1, strings.Join(exampleFiles, ", "), s)
		}
	}
}

func TestGoSnippets(t *testing.T) {
	md := "text\n```go\na := 1\n\nif a {\n\tb()\n}\n```\n```sh\nls\n```\n  ```go\nx\n  ```\n"
	got := goSnippets(md)
	want := []string{"a := 1\n\nif a {\n\tb()\n}\n", "x\n"}
	if len(got) != len(want) {
		t.Fatalf("goSnippets = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("snippet %d = %q, want %q", i, got[i], want[i])
		}
	}
	if got, want := indent("a\n\nb {\n\tc\n}\n"), "\ta\n\n\tb {\n\t\tc\n\t}\n"; got != want {
		t.Errorf("indent = %q, want %q", got, want)
	}
}
