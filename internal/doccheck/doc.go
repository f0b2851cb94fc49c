// Package doccheck holds no code: its test checks that every citation of
// the project's reference in docs/ resolves. A comment that cites a file
// of docs/ and sections of it, such as docs/protocol.md §3.1, §5.2 and
// §13, must name a file that exists and has a heading with each number;
// a section sign in a comment must follow such a file name; and no
// comment may point at documents outside the repository
// (docs/design.md §5.6).
package doccheck
