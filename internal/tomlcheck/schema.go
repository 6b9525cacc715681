package tomlcheck

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Unknown keys.

type keyKind int

const (
	leafKey keyKind = iota
	tableKey
	arrayTableKey
)

// schema lists the keys a config may have, without array indices, and the
// keys each table may hold, in declaration order.
type schema struct {
	kinds    map[string]keyKind
	children map[string][]string
}

func buildSchema(t reflect.Type) schema {
	s := schema{kinds: map[string]keyKind{}, children: map[string][]string{}}
	textUnmarshaler := reflect.TypeFor[encoding.TextUnmarshaler]()
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "" || name == "-" {
				continue
			}
			key := joinKey(prefix, name)
			s.children[prefix] = append(s.children[prefix], name)
			ft := f.Type
			switch {
			case ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(textUnmarshaler):
				s.kinds[key] = tableKey
				walk(key, ft)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				s.kinds[key] = arrayTableKey
				walk(key, ft.Elem())
			default:
				s.kinds[key] = leafKey
			}
		}
	}
	walk("", t)
	return s
}

// unknownKeys reports the keys of md that no field of the schema takes, at
// every place they are written.
func unknownKeys(md *toml.MetaData, pos positions, sch schema) []*Problem {
	var probs []*Problem
	reported := map[string]bool{} // plain and indexed paths
	check := func(k toml.Key) {
		// Report the outermost unknown part only: an unknown table's keys
		// are covered by it.
		for n := 1; n <= len(k); n++ {
			kind, ok := sch.kinds[k[:n].String()]
			if ok && kind != leafKey {
				continue
			}
			if !ok && !reported[k[:n].String()] {
				reported[k[:n].String()] = true
				probs = append(probs, unknownKey(k[:n], pos, sch, reported)...)
			}
			// Keys under a value (an inline table where a number belongs)
			// come with a type error of their own.
			return
		}
	}
	// Undecoded lists the keys no field took (and known keys that a wrong
	// type stopped the decoding of, which check passes over).
	for _, k := range md.Undecoded() {
		check(k)
	}
	// The decoder also matches field names case-insensitively; the config
	// language is case-sensitive.
	for _, k := range md.Keys() {
		check(k)
	}
	return probs
}

func unknownKey(k toml.Key, pos positions, sch schema, reported map[string]bool) []*Problem {
	name := k[len(k)-1]
	parent := k[:len(k)-1].String()
	var where string
	switch {
	case len(k) == 1:
		where = "at top level"
	case sch.kinds[parent] == arrayTableKey:
		where = "in [[" + parent + "]]"
	default:
		where = "in [" + parent + "]"
	}
	msg := "unknown key " + where
	known := sch.children[k[:len(k)-1].String()]
	if s := suggest(name, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += "; known keys: " + strings.Join(known, ", ")
	}

	var probs []*Problem
	for _, kl := range pos.keys {
		if slices.Equal(kl.parts, k) && !reported[kl.path] {
			reported[kl.path] = true
			probs = append(probs, &Problem{Line: kl.line, Key: kl.path, Msg: msg})
		}
	}
	if len(probs) == 0 {
		probs = append(probs, &Problem{Key: k.String(), Msg: msg})
	}
	return probs
}

// suggest returns the known key closest to a misspelt one, or "".
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if d := editDistance(strings.ToLower(name), k); d < bestDist && d < len(k)/2+1 {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
