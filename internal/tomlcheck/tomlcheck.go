// Package tomlcheck decodes a TOML document strictly and says exactly
// where it is wrong: every problem (a syntax error, a key of the wrong
// type, an unknown or misspelt key, an impossible value found by the
// caller's validation) is reported with the file, the line and the full
// path of its key, study[1].param[0].max, one per line, sorted by line.
//
// A document is decoded table by table into structs of the caller's,
// each over its defaults, so that a wrong type is traced to the element it
// is in and the other elements are still checked:
//
//	doc, err := tomlcheck.Parse(data, file, reflect.TypeFor[Config](), &top)
//	doc.Decode(top.Daemon, &c.Daemon, "daemon", "daemon")
//	...
//	return doc.Finish(validationProblems)
package tomlcheck

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// A Problem is one problem with a document: the key at fault, where it is
// written, and what is wrong with it.
type Problem struct {
	File string // the document's file; "" when parsed from bytes
	Line int    // 1-based line of the key; 0 when unknown
	Key  string // path of the key, like study[1].param[0].max
	Msg  string
}

func (e *Problem) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Problems collects the problems validation finds.
type Problems []*Problem

// Add records a problem with key.
func (ps *Problems) Add(key, format string, args ...any) {
	*ps = append(*ps, &Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// OneOf checks that v, the value of key, is one of allowed.
func (ps *Problems) OneOf(key, what, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		ps.Add(key, "unknown %s %q; want one of %s", what, v, strings.Join(allowed, ", "))
	}
}

// Under returns the problems with prefix put before their keys, as
// "prefix.key": rules written for one element, reported for the place it
// has in a document.
func (ps Problems) Under(prefix string) Problems {
	out := make(Problems, len(ps))
	for i, p := range ps {
		q := *p
		q.Key = joinPath(prefix, p.Key)
		out[i] = &q
	}
	return out
}

// Err returns the problems as one error, a line each, sorted by line
// (problems without one last), or nil if there are none. Each line is a
// *Problem for errors.As.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b *Problem) int {
		return cmp.Compare(uint(a.Line-1), uint(b.Line-1))
	})
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// Join puts key under prefix, as a problem's key: Join("study[0]",
// "seed") is "study[0].seed", Join("", "seed") is "seed".
func Join(prefix, key string) string { return joinPath(prefix, key) }

// joinPath puts key under prefix.
func joinPath(prefix, key string) string {
	switch {
	case prefix == "":
		return key
	case key == "" || strings.HasPrefix(key, "["):
		return prefix + key
	}
	return prefix + "." + key
}

// Doc is a TOML document being decoded: its keys with their lines, and
// the problems found so far.
type Doc struct {
	file   string
	md     toml.MetaData
	pos    positions
	schema schema
	probs  Problems
	broken []string // keys that failed to decode, left at their defaults
	// translated marks a document decoded from a translation of its text
	// (ParseJSON): the decoder's lines are the translation's, not the
	// document's, and only pos tells where a key is.
	translated bool
}

// Parse parses data, from file ("" when it has none), into top: a struct
// of toml.Primitive fields (and slices of them) for the tables to decode
// one by one with Decode. schema is the type of the whole document as
// decoded (a struct whose fields have toml tags): the keys it has no field
// for are reported as unknown by Finish. A syntax error is returned at
// once, as a *Problem with its line.
func Parse(data []byte, file string, schema reflect.Type, top any) (*Doc, error) {
	d := &Doc{file: file, schema: buildSchema(schema)}
	md, err := toml.Decode(string(data), top)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) { // a syntax error: the text has no structure to index
			return nil, d.finish(Problems{{Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}})
		}
		return nil, d.finish(Problems{decodeProblem(err, "", nil, scanPositions(string(data)))})
	}
	d.md, d.pos = md, scanPositions(string(data))
	return d, nil
}

// Defined reports whether the document sets key (a dotted path without
// indices, like "nats").
func (d *Doc) Defined(key ...string) bool { return d.md.IsDefined(key...) }

// Decode decodes the table prim into *v, over what *v holds (its
// defaults). path is the table's indexed path (study[1].param[0]) and ctx
// its path without indices (study, param). Every key of a wrong type is
// recorded as a problem, and left at its default.
func (d *Doc) Decode(prim toml.Primitive, v any, path string, ctx ...string) {
	err := d.md.PrimitiveDecode(prim, v)
	if err == nil {
		return
	}
	// The decoder stops at the first wrong type it meets, in map order.
	// Decode key by key to find them all and keep the rest.
	errs := decodeFields(&d.md, prim, v)
	if len(errs) == 0 {
		errs = []error{err}
	}
	for _, err := range errs {
		p := decodeProblem(err, path, ctx, d.pos)
		if d.translated {
			p.Line = d.pos.line(p.Key)
		}
		d.probs = append(d.probs, p)
		d.broken = append(d.broken, p.Key)
	}
}

// Missing returns those of keys that the table prim does not set. A key
// written in another case counts as set: it is reported as misspelt.
func (d *Doc) Missing(prim toml.Primitive, keys ...string) []string {
	return missingKeys(&d.md, prim, keys...)
}

// Problem records a problem the caller found while decoding.
func (d *Doc) Problem(key, format string, args ...any) { d.probs.Add(key, format, args...) }

// Broken marks keys whose values validation should not judge: they were
// not decoded as written (missing, say), and what validation would say of
// their defaults would only be noise.
func (d *Doc) Broken(keys ...string) { d.broken = append(d.broken, keys...) }

// Finish adds the unknown keys and the problems validation found (except
// those about keys that did not decode: they kept their defaults) to the
// problems found while decoding, gives each its line, and returns them as
// one error, or nil.
func (d *Doc) Finish(validation Problems) error {
	probs := append(d.probs, unknownKeys(&d.md, d.pos, d.schema)...)
	for _, p := range validation {
		if !slices.ContainsFunc(d.broken, func(b string) bool { return within(p.Key, b) }) {
			probs = append(probs, p)
		}
	}
	return d.finish(probs)
}

func (d *Doc) finish(probs Problems) error {
	for _, p := range probs {
		p.File = d.file
		if p.Line == 0 {
			p.Line = d.pos.line(p.Key)
		}
	}
	return probs.Err()
}

// Line returns the line key is written on, or that of the nearest table
// holding it; 0 when neither is written.
func (d *Doc) Line(key string) int { return d.pos.line(key) }
