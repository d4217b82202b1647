package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/ui"
)

// parsePackage parses kioskctl's non-test source files.
func parsePackage(t *testing.T) []*ast.File {
	t.Helper()
	names, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		require.NoError(t, err)
		files = append(files, f)
	}
	return files
}

// caseWords returns the string literals of sw's case clauses that name
// a command: not a flag such as "--help", nor a subcommand's "help".
func caseWords(sw *ast.SwitchStmt, sub bool) []string {
	var words []string
	for _, st := range sw.Body.List {
		for _, e := range st.(*ast.CaseClause).List {
			if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				w, _ := strconv.Unquote(lit.Value)
				if !strings.HasPrefix(w, "-") && !(sub && w == "help") {
					words = append(words, w)
				}
			}
		}
	}
	return words
}

// dispatchTable reads the dispatcher's source: every top-level command
// and the subcommands its own switch (in dispatch, or in the cmdX function
// dispatch calls) knows.
func dispatchTable(t *testing.T, files []*ast.File) map[string][]string {
	t.Helper()
	funcs := map[string]*ast.FuncDecl{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	// firstSwitch returns the first switch in n on args[0] or rest[0].
	firstSwitch := func(n ast.Node) *ast.SwitchStmt {
		var found *ast.SwitchStmt
		ast.Inspect(n, func(n ast.Node) bool {
			sw, ok := n.(*ast.SwitchStmt)
			if !ok || found != nil {
				return found == nil
			}
			if ix, ok := sw.Tag.(*ast.IndexExpr); ok {
				if id, ok := ix.X.(*ast.Ident); ok && (id.Name == "args" || id.Name == "rest") {
					found = sw
				}
			}
			return found == nil
		})
		return found
	}
	dispatch := funcs["dispatch"]
	require.NotNil(t, dispatch, "kioskctl has a dispatch function")
	var top *ast.SwitchStmt
	for _, st := range dispatch.Body.List {
		if sw, ok := st.(*ast.SwitchStmt); ok {
			top = sw
		}
	}
	require.NotNil(t, top, "dispatch switches on the command")
	table := map[string][]string{}
	for _, st := range top.Body.List {
		cc := st.(*ast.CaseClause)
		var subs []string
		clause := &ast.BlockStmt{List: cc.Body}
		if sw := firstSwitch(clause); sw != nil {
			subs = caseWords(sw, true)
		} else {
			ast.Inspect(clause, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if id, ok := call.Fun.(*ast.Ident); ok && funcs[id.Name] != nil {
						if sw := firstSwitch(funcs[id.Name].Body); sw != nil {
							subs = append(subs, caseWords(sw, true)...)
						}
					}
				}
				return true
			})
		}
		for _, w := range caseWords(&ast.SwitchStmt{Body: &ast.BlockStmt{List: []ast.Stmt{cc}}}, false) {
			table[w] = subs
		}
	}
	return table
}

// usageHas reports whether a line of the help lists cmd (and sub, if
// not ""): "  books lost|damaged|write-off BARCODE" lists books damaged.
func usageHas(help, cmd, sub string) bool {
	for _, line := range strings.Split(help, "\n") {
		f := strings.Fields(line)
		if !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   ") || len(f) == 0 || f[0] != cmd {
			continue
		}
		if sub == "" || len(f) > 1 && slices.Contains(strings.Split(f[1], "|"), sub) {
			return true
		}
	}
	return false
}

func TestHelpListsEveryCommand(t *testing.T) {
	code, help, stderr := kioskctl(t, "help")
	require.Equal(t, 0, code, stderr)
	table := dispatchTable(t, parsePackage(t))
	for _, must := range []string{"status", "tap", "staff", "user", "version", "help"} {
		require.Contains(t, table, must, "the dispatch table read from the source")
	}
	require.Contains(t, table["staff"], "card", "subcommands read from cmdStaff")
	require.Contains(t, table["roster"], "erase", "subcommands read from dispatch's own switch")
	for cmd, subs := range table {
		if len(subs) == 0 {
			assert.True(t, usageHas(help, cmd, ""), "kioskctl help lists the command %q", cmd)
		}
		for _, sub := range subs {
			assert.True(t, usageHas(help, cmd, sub), "kioskctl help lists %q", cmd+" "+sub)
		}
	}
}

// TestEveryParseNameHasUsage: a command refused for its arguments shows
// its usage line, so each name given to parse has one in the help.
func TestEveryParseNameHasUsage(t *testing.T) {
	var names []string
	for _, f := range parsePackage(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "parse" {
				if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					name, _ := strconv.Unquote(lit.Value)
					names = append(names, name)
				}
			}
			return true
		})
	}
	require.Contains(t, names, "tap")
	for _, name := range append(names, "books lost", "books write-off", "devices test reader", "staff enable") {
		assert.NotEmpty(t, synopsis(name), "usage line of %q", name)
	}

	code, _, stderr := kioskctl(t, "tap")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "tap: missing arguments; usage: kioskctl tap [--booth ID] UID\n")
	code, _, stderr = kioskctl(t, "books", "lend", "a", "b", "c")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "too many arguments (a b c); usage: kioskctl books lend CARD BARCODE")
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		code, out, stderr := kioskctl(t, args...)
		assert.Equal(t, 0, code, "%v: %s", args, stderr)
		assert.Equal(t, "kioskctl "+version+"\n", out, "%v", args)
	}
	code, _, _ := kioskctl(t, "version", "extra")
	assert.Equal(t, 2, code)

	// kioskd's version has the same default and is set by the same
	// -ldflags "-X main.version=...".
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "kioskd", "kioskd.go"), nil, 0)
	require.NoError(t, err)
	kioskd := ""
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name == "version" && len(vs.Values) == 1 {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				kioskd, _ = strconv.Unquote(lit.Value)
			}
		}
		return true
	})
	assert.Equal(t, kioskd, version, "kioskctl and kioskd print the same version")
}

func TestUserPasswordStdinMessages(t *testing.T) {
	data := newData(t)
	const pw = "a long enough password"
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"one line without the flag", pw + "\n", []string{"add", "wang", "--role", "inspector"},
			"read password: stdin ended after one line, before the confirmation: want the password twice, one line each (or one line with --password-stdin)"},
		{"nothing without the flag", "", []string{"add", "wang", "--role", "inspector"},
			"read password: no password on stdin: want the password twice"},
		{"nothing with the flag", "", []string{"passwd", "wang", "--password-stdin"},
			"read password: no password on stdin: --password-stdin wants the password on one line"},
	}
	err, _ := userCmd(t, data, pw+"\n", "add", "wang", "--role", "manager", "--password-stdin")
	require.NoError(t, err, "--password-stdin reads one line, as its usage says")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.args[0] == "add" {
				tc.args[1] = "li"
			}
			err, _ := userCmd(t, data, tc.stdin, tc.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "EOF")
		})
	}
}

func TestDaemonNotRunningHint(t *testing.T) {
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "admin.token"), []byte("x\n"), 0o600))
	for _, cmd := range []string{"status", "hangup"} {
		code, _, stderr := kioskctl(t, "--data", data, "--addr", "http://127.0.0.1:1", cmd)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "reach kioskd at http://127.0.0.1:1")
		assert.Contains(t, stderr, "is kioskd running, and listening on --addr http://127.0.0.1:1?")
	}
}

// actionDaemon serves the booth actions with the given answers by path;
// an answer of nil is a 409 refusal.
func actionDaemon(t *testing.T, data string, answers map[string]*ui.ActionResponse) string {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(data, "admin.token"), []byte("tok\n"), 0o600))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if a == nil {
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(ui.ErrorResponse{Code: kiosk.EDENIED, Message: "the booth is busy"})
			return
		}
		json.NewEncoder(w).Encode(a)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestActionSaysWhatTheScreenShows(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		answer *ui.ActionResponse
		code   int
		out    string
	}{
		{"tap unknown card", []string{"tap", "DEADBEEF"}, &ui.ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenUnknown}, 0,
			"tapped at booth b1: unknown card (please see your teacher)\n"},
		{"tap known card", []string{"tap", "DE000001"}, &ui.ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenIdentified}, 0,
			"tapped at booth b1: identified (the child's contacts)\n"},
		{"tap, daemon without state", []string{"tap", "DE000001"}, &ui.ActionResponse{OK: true, Booth: "b1"}, 0, "tapped\n"},
		{"tap refused", []string{"tap", "DE000001"}, nil, 1, ""},
		{"hangup without a call", []string{"hangup"}, &ui.ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenIdle}, 0,
			"no call in progress; booth b1 is idle\n"},
		{"hangup of a call", []string{"hangup", "--booth", "b2"}, &ui.ActionResponse{OK: true, Booth: "b2", State: kiosk.ScreenEnded}, 0,
			"call ended at booth b2\n"},
		{"hangup, call ending", []string{"hangup"}, &ui.ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenConnected}, 0,
			"hanging up the call at booth b1\n"},
		{"call-help", []string{"call-help"}, &ui.ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenCalling}, 0,
			"ok; booth b1: calling\n"},
		{"dial, calling", []string{"dial", "2"}, &ui.ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenCalling}, 0,
			"calling contact 2 at booth b1\n"},
		{"dial, waiting for a line", []string{"dial", "1", "--booth", "b2"}, &ui.ActionResponse{OK: true, Booth: "b2", State: kiosk.ScreenQueued}, 0,
			"dialled contact 1; booth b2: waiting for a line\n"},
		{"dial, screen refuses", []string{"dial", "3"}, &ui.ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenDenied}, 0,
			"dialled contact 3; booth b1: refused (the screen gives the reason)\n"},
		{"dial, daemon without state", []string{"dial", "2"}, &ui.ActionResponse{OK: true, Booth: "b1"}, 0, "dialling contact 2\n"},
		{"dial refused", []string{"dial", "2"}, nil, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			path := "/api/" + strings.TrimPrefix(tc.args[0], "call-")
			addr := actionDaemon(t, data, map[string]*ui.ActionResponse{path: tc.answer})
			code, out, stderr := kioskctl(t, append([]string{"--data", data, "--addr", addr}, tc.args...)...)
			assert.Equal(t, tc.code, code, "stderr: %s", stderr)
			assert.Equal(t, tc.out, out)
		})
	}
}

func TestContactLinkPastDate(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, loc)
	_, err = parseExpires("2020-01-01", now, loc)
	require.Error(t, err)
	assert.Equal(t, "--expires 2020-01-01: a link given a date works through the end of that day (Asia/Shanghai), which has passed; give today's date or a later one", err.Error())
	_, err = parseExpires("2026-03-10", now, loc)
	assert.NoError(t, err, "today is still good until midnight")
	_, err = parseExpires("2026-03-09T12:00:00Z", now, loc)
	assert.ErrorContains(t, err, "--expires 2026-03-09T12:00:00Z: that time has passed")

	data := linkData(t)
	code, _, stderr := kioskctl(t, "--data", data, "contact", "link", "S-017", "1", "--expires", "2020-01-01")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--expires 2020-01-01: a link given a date works through the end of that day")
	assert.NotContains(t, stderr, "2020-01-02")
}
