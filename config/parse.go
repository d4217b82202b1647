package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Problem is one thing wrong with a configuration. Line is the 1-based
// line of the offending key, or of its section when the key is absent; 0
// means the problem has no place in the file (the message then says so).
type Problem struct {
	File    string
	Line    int
	Message string
}

// String returns "file:line: message", or "file: message" when the
// problem has no line (Line 0).
func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Message
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
}

// Problems is every problem found in a configuration, ordered by line
// (line 0 last). It implements error.
type Problems []Problem

// Error returns one Problem.String per line.
func (ps *Problems) Error() string {
	if ps == nil {
		return "<nil>"
	}
	var b strings.Builder
	for i, p := range *ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Line, ps[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
	return ps
}

// maxDecodeRetries bounds how many bad values Parse reports before giving
// up on a document: each one costs a decode of the whole file.
const maxDecodeRetries = 50

// Load reads the file at path and returns Parse's result. A file that
// cannot be read is not a *Problems (nothing in it is wrong): the error
// reads "read config PATH: " and wraps os.ReadFile's, so errors.Is(err,
// fs.ErrNotExist) reports a missing file.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes the TOML document data, named name in problems, strictly
// over Default(), then validates it. It returns the configuration and nil,
// or a *Problems listing every problem found: a syntax error stops at the
// first one; unknown keys, wrong types and bad values are all reported
// (each offending key is then ignored to look further); and Validate's
// problems follow, with the lines of their keys.
func Parse(name string, data []byte) (Config, error) {
	var probs Problems
	doc := append([]byte(nil), data...)
	lines, exprs, perr := scan(doc)
	if perr != nil {
		return Config{}, &Problems{syntaxProblem(name, doc, perr)}
	}

	var c Config
	badLines := map[int]bool{}
	for try := 0; ; try++ {
		var err error
		c, err = decode(doc)
		if err == nil {
			break
		}
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			for i := range sm.Errors {
				e := &sm.Errors[i]
				line, col := e.Position()
				key := strings.Join(e.Key(), ".")
				if x, ok := exprAt(exprs, lines.offset(line, col)); ok {
					key = x.path
				}
				probs = append(probs, Problem{File: name, Line: line, Message: unknownMessage(e, key)})
			}
			break // strict errors come last: everything else was decoded
		}
		var x span
		var ok bool
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			x, ok = exprAt(exprs, lines.offset(line, col))
			msg := decodeMessage(de)
			if ok && x.line == line && len(de.Key()) > 0 {
				msg = x.path + ": " + decodeMessage(de)[len(strings.Join(de.Key(), "."))+2:]
			}
			probs = append(probs, Problem{File: name, Line: line, Message: msg})
			badLines[line] = true
		} else {
			// Errors from text unmarshalers given a non-string carry no
			// position: find the first expression whose prefix fails.
			x, ok = failingExpr(doc, exprs)
			if !ok {
				probs = append(probs, Problem{File: name, Message: fmt.Sprintf("decode (no line known): %v", err)})
				return Config{}, ptr(probs.sorted())
			}
			msg := strings.TrimPrefix(err.Error(), "toml: ")
			probs = append(probs, Problem{File: name, Line: x.line, Message: x.path + ": " + msg})
			badLines[x.line] = true
		}
		// Blank out the top-level expression holding the bad value and
		// decode again, so that one bad value does not hide the next.
		if !ok || !x.kv || try >= maxDecodeRetries {
			return Config{}, ptr(probs.sorted())
		}
		blank(doc[x.start:x.end])
	}
	probs = append(probs, caseProblems(name, lines.keys)...)
	c.file = name
	c.lines = lines.keys
	c.fillDefaults()
	if err := c.Validate(); err != nil {
		var vp *Problems
		if errors.As(err, &vp) {
			for _, p := range *vp {
				if !badLines[p.Line] || p.Line == 0 {
					probs = append(probs, p)
				}
			}
		}
	}
	if len(probs) > 0 {
		return c, ptr(probs.sorted())
	}
	return c, nil
}

// decode decodes doc strictly over Default().
func decode(doc []byte) (Config, error) {
	c := Default()
	err := toml.NewDecoder(bytes.NewReader(doc)).DisallowUnknownFields().Decode(&c)
	return c, err
}

// failingExpr returns the first expression such that decoding the document
// up to its end fails with an error other than unknown keys.
func failingExpr(doc []byte, all []span) (span, bool) {
	var exprs []span
	for _, x := range all {
		if x.kv {
			exprs = append(exprs, x)
		}
	}
	fails := func(i int) bool {
		_, err := decode(doc[:exprs[i].end])
		var sm *toml.StrictMissingError
		return err != nil && !errors.As(err, &sm)
	}
	i := sort.Search(len(exprs), fails)
	if i == len(exprs) {
		return span{}, false
	}
	return exprs[i], true
}

func ptr(ps Problems) *Problems { return &ps }

// fillDefaults gives the elements of arrays of tables the defaults that
// decoding cannot: a key absent from the file takes its default; a key
// present but empty is left for Validate to report.
func (c *Config) fillDefaults() {
	def := DefaultTrunk()
	for i := range c.SIP.Trunks {
		t := &c.SIP.Trunks[i]
		p := fmt.Sprintf("sip.trunk[%d].", i)
		if !c.has(p+"dial_pattern") && t.DialPattern == "" {
			t.DialPattern = def.DialPattern
		}
		if !c.has(p+"codecs") && t.Codecs == nil {
			t.Codecs = append([]string(nil), def.Codecs...)
		}
	}
	for i := range c.Booths {
		b := &c.Booths[i]
		if !c.has(fmt.Sprintf("booth[%d].name", i)) && b.Name == "" {
			b.Name = b.ID
		}
	}
}

func (c *Config) has(key string) bool {
	_, ok := c.lines[key]
	return ok
}

// line returns the line of key, else of the nearest enclosing table or
// array element present in the file, else 0. The bool is false when key
// itself is not in the file.
func (c *Config) line(key string) (int, bool) {
	if l, ok := c.lines[key]; ok {
		return l, true
	}
	for k := key; k != ""; {
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
		if l, ok := c.lines[k]; ok {
			return l, false
		}
	}
	return 0, false
}

func blank(b []byte) {
	for i, x := range b {
		if x != '\n' && x != '\r' {
			b[i] = ' '
		}
	}
}

var mismatchRE = regexp.MustCompile(`^cannot decode TOML ([a-z -]+?) into .* of type (\S+)$`)

// decodeMessage turns go-toml's message into one naming the key and, for
// type mismatches, the expected type in the file's words.
func decodeMessage(de *toml.DecodeError) string {
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	key := strings.Join(de.Key(), ".")
	if m := mismatchRE.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("want %s, got a TOML %s", typeWord(m[2]), m[1])
	}
	if key == "" {
		return msg
	}
	return key + ": " + msg
}

func typeWord(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case goType == "config.Duration":
		return `a duration string such as "45s" or "5m"`
	case goType == "config.Date":
		return `a quoted date such as "2025-10-01"`
	case goType == "config.PortRange":
		return `a port range string such as "10000-10999"`
	case strings.HasPrefix(goType, "config."), strings.HasPrefix(goType, "struct"):
		return "a table"
	}
	return goType
}

func unknownMessage(e *toml.DecodeError, key string) string {
	if strings.Contains(e.Error(), "missing table") {
		return fmt.Sprintf("unknown table [%s]", key)
	}
	return fmt.Sprintf("unknown key %s", key)
}

func syntaxProblem(name string, doc []byte, err error) Problem {
	var pe *unstable.ParserError
	if errors.As(err, &pe) {
		line := 0
		if off := cap(doc) - cap(pe.Highlight); pe.Highlight != nil && off >= 0 && off <= len(doc) {
			line = 1 + bytes.Count(doc[:off], []byte("\n"))
		}
		return Problem{File: name, Line: line, Message: "syntax: " + pe.Message}
	}
	return Problem{File: name, Message: "syntax: " + err.Error()}
}

// lineIndex maps byte offsets to lines and holds the key-path map.
type lineIndex struct {
	starts []int          // byte offset of the start of each line
	keys   map[string]int // key path -> 1-based line
}

func (li *lineIndex) lineOf(off int) int {
	return sort.Search(len(li.starts), func(i int) bool { return li.starts[i] > off })
}

func (li *lineIndex) offset(line, col int) int {
	if line < 1 || line > len(li.starts) {
		return -1
	}
	return li.starts[line-1] + col - 1
}

// span is one top-level expression: its bytes, first line, key path
// ("sip.trunk[0].codecs" or the table's path) and whether it is a
// key-value.
type span struct {
	start, end int
	line       int
	path       string
	kv         bool
}

// exprAt returns the key-value expression holding offset off.
func exprAt(exprs []span, off int) (span, bool) {
	for _, e := range exprs {
		if off >= e.start && off < e.end {
			return e, true
		}
	}
	return span{}, false
}

// scan parses doc with go-toml's unstable parser and returns the line of
// every key path (tables "sip", array elements "booth[1]", keys
// "booth[1].reader", array items "limits.warnings[0]") and the byte spans
// of the top-level key-value expressions.
func scan(doc []byte) (*lineIndex, []span, error) {
	li := &lineIndex{starts: []int{0}, keys: map[string]int{}}
	for i, b := range doc {
		if b == '\n' {
			li.starts = append(li.starts, i+1)
		}
	}
	var exprs []span
	counts := map[string]int{} // array-of-tables path -> elements seen
	table := ""
	var p unstable.Parser
	p.Reset(doc)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			var parts []string
			var line int
			it := e.Key()
			for it.Next() {
				k := it.Node()
				parts = append(parts, string(k.Data))
				line = li.lineOf(int(k.Raw.Offset))
			}
			path := resolve(parts, counts, e.Kind == unstable.ArrayTable)
			if e.Kind == unstable.ArrayTable {
				n := counts[path]
				counts[path] = n + 1
				li.set(path, line)
				path = fmt.Sprintf("%s[%d]", path, n)
			}
			li.set(path, line)
			table = path
			start := int(e.Child().Raw.Offset)
			exprs = append(exprs, span{start: start, end: start + 1, line: line, path: path})
		case unstable.KeyValue:
			line := li.lineOf(int(e.Raw.Offset))
			path := li.keyValue(table, e, line)
			exprs = append(exprs, span{int(e.Raw.Offset), int(e.Raw.Offset + e.Raw.Length), line, path, true})
		}
	}
	if err := p.Error(); err != nil {
		return nil, nil, err
	}
	return li, exprs, nil
}

// resolve turns a table header's key parts into a path, inserting the
// current index after each prefix that is an array of tables.
// The last part of an [[array]] header gets no index here: the caller
// appends the new element's.
func resolve(parts []string, counts map[string]int, array bool) string {
	path := ""
	for i, part := range parts {
		if path != "" {
			path += "."
		}
		path += part
		if array && i == len(parts)-1 {
			break
		}
		if n := counts[path]; n > 0 {
			path += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	return path
}

func (li *lineIndex) set(path string, line int) {
	if _, ok := li.keys[path]; !ok {
		li.keys[path] = line
	}
}

func (li *lineIndex) keyValue(table string, kv *unstable.Node, line int) string {
	path := table
	it := kv.Key()
	for it.Next() {
		k := it.Node()
		if path != "" {
			path += "."
		}
		path += string(k.Data)
		li.set(path, li.lineOf(int(k.Raw.Offset)))
	}
	li.value(path, kv.Value(), line)
	return path
}

func (li *lineIndex) value(path string, v *unstable.Node, line int) {
	if v == nil {
		return
	}
	if v.Raw.Length > 0 {
		line = li.lineOf(int(v.Raw.Offset))
	}
	switch v.Kind {
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); {
			n := it.Node()
			if n.Kind == unstable.Comment {
				continue
			}
			li.value(fmt.Sprintf("%s[%d]", path, i), n, line)
			i++
		}
	case unstable.InlineTable:
		li.set(path, line)
		it := v.Children()
		for it.Next() {
			if n := it.Node(); n.Kind == unstable.KeyValue {
				li.keyValue(path, n, line)
			}
		}
	default:
		li.set(path, line)
	}
}
