package config

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// TOML keys are case-sensitive, but the decoder matches struct fields
// without regard to case: `[SIP]` or `TimeZone` would be taken silently
// (and the line map would point problems at the wrong key). caseProblems
// reports every key whose spelling differs from ours only by case.

var indexRE = regexp.MustCompile(`\[\d+\]`)

// caseProblems returns a problem for each key in keys (path -> line)
// that matches a known key only when case is ignored.
func caseProblems(file string, keys map[string]int) Problems {
	known := knownKeys()
	var ps Problems
	for path, line := range keys {
		segs := strings.Split(indexRE.ReplaceAllString(path, ""), ".")
		node := known
		for i, seg := range segs {
			next, ok := node.children[seg]
			if !ok {
				for k := range node.children {
					if strings.EqualFold(k, seg) {
						want := append(append([]string(nil), segs[:i]...), k)
						ps = append(ps, Problem{File: file, Line: line, Message: fmt.Sprintf(
							"unknown key %s: keys are case-sensitive; did you mean %s?", path, strings.Join(want, "."))})
						break
					}
				}
				break
			}
			node = next
		}
	}
	// Only the first wrong segment of a path is reported once per line.
	sort.Slice(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p.Line == ps[i-1].Line {
			continue
		}
		out = append(out, p)
	}
	return out
}

// keyNode is one level of the known key tree.
type keyNode struct {
	children map[string]*keyNode
}

// knownKeys is the tree of TOML keys Config accepts, from its toml tags.
func knownKeys() *keyNode {
	return keysOf(reflect.TypeFor[Config]())
}

var leafIface = []reflect.Type{
	reflect.TypeFor[encoding.TextUnmarshaler](),
}

func keysOf(t reflect.Type) *keyNode {
	n := &keyNode{children: map[string]*keyNode{}}
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || isLeaf(t) {
		return n
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		n.children[tag] = keysOf(f.Type)
	}
	return n
}

func isLeaf(t reflect.Type) bool {
	for _, i := range leafIface {
		if reflect.PointerTo(t).Implements(i) {
			return true
		}
	}
	_, ok := reflect.PointerTo(t).MethodByName("UnmarshalTOML")
	return ok
}
