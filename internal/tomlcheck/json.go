package tomlcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// ParseJSON is Parse for a JSON document that stands for a TOML one: an
// object whose keys and values are those the TOML would have (arrays of
// objects for arrays of tables, strings for durations). A null is a key
// not written. The document is checked by the same rules and reported
// with the same messages, each with the line of the JSON text it is on.
func ParseJSON(data []byte, file string, schema reflect.Type, top any) (*Doc, error) {
	d := &Doc{file: file, schema: buildSchema(schema), translated: true}
	obj, p := decodeJSON(data)
	if p != nil {
		return nil, d.finish(Problems{p})
	}
	var text bytes.Buffer
	if err := toml.NewEncoder(&text).Encode(obj); err != nil {
		return nil, d.finish(Problems{{Line: 1, Msg: fmt.Sprintf("cannot be read as a config: %v", err)}})
	}
	pos := scanJSON(data)
	md, err := toml.Decode(text.String(), top)
	if err != nil {
		p := decodeProblem(err, "", nil, pos)
		p.Line = pos.line(p.Key)
		return nil, d.finish(Problems{p})
	}
	d.md, d.pos = md, pos
	return d, nil
}

// decodeJSON decodes a JSON object, its numbers as the TOML integers and
// floats they stand for and its nulls left out, or returns the problem
// with it.
func decodeJSON(data []byte) (map[string]any, *Problem) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return nil, &Problem{Line: lineAt(data, dec.InputOffset()), Msg: "unexpected text after the JSON object"}
		}
	}
	if err != nil {
		line := 0
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line = lineAt(data, se.Offset)
		}
		return nil, &Problem{Line: line, Msg: "not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &Problem{Line: 1, Msg: "a JSON document must be an object, {...}"}
	}
	out, verr := tomlValue(obj, "")
	if verr != nil {
		return nil, &Problem{Line: scanJSON(data).line(verr.key), Key: verr.key, Msg: verr.msg}
	}
	return out.(map[string]any), nil
}

// valueError is a JSON value TOML has no form for.
type valueError struct{ key, msg string }

// tomlValue converts a decoded JSON value at path to what TOML encodes.
func tomlValue(v any, path string) (any, *valueError) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if x == nil {
				continue
			}
			c, err := tomlValue(x, joinKey(path, k))
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for i, x := range v {
			if x == nil {
				return nil, &valueError{fmt.Sprintf("%s[%d]", path, i), "null in an array"}
			}
			c, err := tomlValue(x, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	case json.Number:
		return tomlNumber(v, path)
	}
	return v, nil
}

// tomlNumber is n as a TOML integer when it is written as one and fits,
// else as a float.
func tomlNumber(n json.Number, path string) (any, *valueError) {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, &valueError{path, fmt.Sprintf("number %s is out of range", s)}
	}
	return f, nil
}

// scanJSON indexes the keys of a JSON document by path and line, as
// scanPositions does for TOML: param[1].min is the min key of the second
// object of the param array. It assumes the text parsed.
func scanJSON(data []byte) positions {
	sc := &jsonScanner{data: data, dec: json.NewDecoder(bytes.NewReader(data)), pos: positions{lines: map[string]int{}}}
	sc.dec.UseNumber()
	sc.value("", nil)
	return sc.pos
}

type jsonScanner struct {
	data []byte
	dec  *json.Decoder
	pos  positions
}

func (sc *jsonScanner) record(path string, parts []string) {
	line := lineAt(sc.data, sc.dec.InputOffset())
	sc.pos.keys = append(sc.pos.keys, keyLine{path: path, parts: parts, line: line})
	if _, ok := sc.pos.lines[path]; !ok {
		sc.pos.lines[path] = line
	}
}

// value reads the value at path (parts: the path without indices).
func (sc *jsonScanner) value(path string, parts []string) {
	tok, err := sc.dec.Token()
	if err != nil {
		return
	}
	switch tok {
	case json.Delim('{'):
		if strings.HasSuffix(path, "]") {
			sc.record(path, parts) // an element of an array of tables
		}
		for sc.dec.More() {
			k, err := sc.dec.Token()
			key, ok := k.(string)
			if err != nil || !ok {
				return
			}
			kp, kparts := joinKey(path, key), append(slices.Clip(parts), key)
			sc.record(kp, kparts)
			sc.value(kp, kparts)
		}
		_, _ = sc.dec.Token()
	case json.Delim('['):
		for i := 0; sc.dec.More(); i++ {
			sc.value(fmt.Sprintf("%s[%d]", path, i), parts)
		}
		_, _ = sc.dec.Token()
	}
}

// lineAt is the 1-based line of byte offset off in data.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}
