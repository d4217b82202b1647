package ui

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParentPageForOldSafari keeps the parent's page to what Safari 12
// (iOS 12) understands: parents' older iPhones, and WeChat's in-app
// browser on them, run the system's WebKit, and a page that a parent
// cannot open is a call that does not happen. CSS: no flex/grid gap and
// no inset (Safari 14.1), no :has() (15.4), no aspect-ratio (15), no
// dvh/svh units (15.4). JavaScript: ES5 plus what Safari 12 has
// (Promise, fetch, WebRTC): no arrow functions, optional chaining, ??,
// template literals, let/const, classes or async functions, which an old
// WebKit refuses as a syntax error for the whole file.
func TestParentPageForOldSafari(t *testing.T) {
	css, err := os.ReadFile("assets/parent.css")
	require.NoError(t, err)
	css = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAll(css, nil)
	for name, re := range map[string]*regexp.Regexp{
		"gap":          regexp.MustCompile(`(^|[;{\s])(row-|column-)?gap\s*:`),
		"inset":        regexp.MustCompile(`(^|[;{\s])inset\s*:`),
		":has()":       regexp.MustCompile(`:has\(`),
		"aspect-ratio": regexp.MustCompile(`aspect-ratio\s*:`),
		"dvh/svh/lvh":  regexp.MustCompile(`\d(d|s|l)v[hw]\b`),
	} {
		assert.False(t, re.Match(css), "parent.css uses %s", name)
	}
	js, err := os.ReadFile("assets/parent.js")
	require.NoError(t, err)
	code := regexp.MustCompile(`(?m)//.*$|'(\\.|[^'\\])*'|"(\\.|[^"\\])*"`).ReplaceAll(js, nil) // comments and strings out
	for name, re := range map[string]*regexp.Regexp{
		"arrow function":    regexp.MustCompile(`=>`),
		"optional chaining": regexp.MustCompile(`\?\.[A-Za-z_$(\[]`),
		"??":                regexp.MustCompile(`\?\?`),
		"template literal":  regexp.MustCompile("`"),
		"let/const":         regexp.MustCompile(`\b(let|const)\s`),
		"class":             regexp.MustCompile(`\bclass\s+[A-Za-z_$]`),
		"async/await":       regexp.MustCompile(`\b(async\s+function|await\s)`),
		// Library calls Safari 12 lacks (13 to 15.4).
		"newer built-ins": regexp.MustCompile(`\.(replaceAll|matchAll|flat|flatMap|at|requestVideoFrameCallback)\(|\b(Object\.fromEntries|Promise\.allSettled|Promise\.any|structuredClone|globalThis|AbortSignal\.timeout)\b`),
	} {
		assert.False(t, re.Match(code), "parent.js uses %s", name)
	}
}
