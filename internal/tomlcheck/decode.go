package tomlcheck

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// decodeFields decodes the keys of the table prim one at a time into the
// fields of the struct *v and returns every error. Unknown keys are left to
// unknownKeys.
func decodeFields(md *toml.MetaData, prim toml.Primitive, v any) []error {
	var keys map[string]toml.Primitive
	if err := md.PrimitiveDecode(prim, &keys); err != nil {
		return []error{err}
	}
	rv := reflect.ValueOf(v).Elem()
	fields := map[string]reflect.Value{}
	for _, f := range reflect.VisibleFields(rv.Type()) {
		if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); name != "" && name != "-" && !f.Anonymous {
			fields[name] = rv.FieldByIndex(f.Index)
		}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if fv, ok := fields[k]; ok {
			if err := md.PrimitiveDecode(keys[k], fv.Addr().Interface()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// missingKeys returns those of keys that the table prim does not set. A key
// written in another case counts as set: it is reported as misspelt.
func missingKeys(md *toml.MetaData, prim toml.Primitive, keys ...string) []string {
	var set map[string]toml.Primitive
	if err := md.PrimitiveDecode(prim, &set); err != nil {
		return nil // not a table: reported as a type error
	}
	var missing []string
	for _, k := range keys {
		found := false
		for s := range set {
			found = found || strings.EqualFold(s, k)
		}
		if !found {
			missing = append(missing, k)
		}
	}
	return missing
}

// within reports whether key is path or a key inside it.
func within(key, path string) bool {
	if !strings.HasPrefix(key, path) {
		return false
	}
	rest := key[len(path):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

// Decoder errors.

// libError matches the errors the TOML decoder returns as plain text.
var libError = regexp.MustCompile(`^toml: (?:line (\d+) )?(?:\(last key ("(?:[^"\\]|\\.)*")\): )?((?s).*)$`)

// decodeProblem turns an error of the TOML decoder into a Problem. elem
// is the indexed path of the element being decoded ("" for the document)
// and ctx its key without indices.
func decodeProblem(err error, elem string, ctx []string, pos positions) *Problem {
	var (
		line    int
		lastKey string
		msg     = err.Error()
	)
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line, lastKey, msg = pe.Position.Line, pe.LastKey, pe.Message
	} else if m := libError.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			lastKey, _ = strconv.Unquote(m[2])
		}
		msg = m[3]
	}
	msg = typeMessage(msg)

	parts := strings.Split(lastKey, ".")
	if lastKey == "" {
		parts = nil
	}
	key := elem
	if len(parts) >= len(ctx) && slices.Equal(parts[:len(ctx)], ctx) {
		for _, p := range parts[len(ctx):] {
			key = joinKey(key, p)
		}
	}
	// The decoder knows the line of a key only without array indices, which
	// makes it the line of the key's last occurrence. Ours is exact.
	if l := pos.line(key); l > 0 && (elem != "" || line == 0) {
		line = l
	}
	return &Problem{Line: line, Key: key, Msg: msg}
}

var (
	incompatibleRE = regexp.MustCompile(`^incompatible types: TOML value has type (.+); destination has type (.+)$`)
	mismatchRE     = regexp.MustCompile(`^type mismatch for \S+: expected table but found (.+)$`)
)

// typeMessage rewords the decoder's type errors in TOML terms.
func typeMessage(msg string) string {
	if m := incompatibleRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("wrong type: got %s, want %s", tomlType(m[1]), tomlType(m[2]))
	}
	if m := mismatchRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("wrong type: got %s, want table", tomlType(m[1]))
	}
	return msg
}

func tomlType(goType string) string {
	switch strings.ReplaceAll(goType, "interface {}", "any") {
	case "int64", "integer":
		return "integer"
	case "float64", "float":
		return "float"
	case "bool", "boolean":
		return "boolean"
	case "string", "primitive (string-like)":
		return "string"
	case "[]any", "slice":
		return "array"
	case "map[string]any", "map":
		return "table"
	case "[]map[string]any":
		return "array of tables"
	case "time.Time", "toml.LocalDate", "toml.LocalTime", "toml.LocalDatetime":
		return "datetime"
	}
	return goType
}
