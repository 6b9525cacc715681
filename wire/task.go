package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
)

// VersionVector is the version of a task whose parameter values travel as
// one vector: "names", the parameter names joined by commas (names hold no
// comma: see CheckName), and "values", the float64 values in that order,
// little-endian IEEE 754, 8 bytes each, base64 (standard, padded). A task
// is written in the form of its own version: a VersionVector task (every
// task tunerd sends) as a vector, an older one as the object of named
// numbers its peers expect, so that an evaluator that stores the result
// of a task in the journal writes the task as it came. At d = 64 the vector
// costs a fraction of the object to write and to read
// (BenchmarkTaskMarshal, BenchmarkTaskDecode), and an evaluator that sees
// the same names task after task splits them once (see splitNames). See
// docs/protocol.md.
const VersionVector = 3

// taskJSON is a task on the wire, in any version.
type taskJSON struct {
	V         int               `json:"v"`
	ID        string            `json:"id"`
	Study     string            `json:"study"`
	Trial     string            `json:"trial"`
	Objective string            `json:"objective"`
	Seed      int64             `json:"seed"`
	Params    Params            `json:"params,omitempty"` // v1, v2
	Names     json.RawMessage   `json:"names,omitempty"`  // v3: a string; v1, v2: a list
	Values    string            `json:"values,omitempty"` // v3
	Labels    map[string]string `json:"labels,omitempty"`
	Epoch     string            `json:"epoch,omitempty"`
}

// vector is t's values in the order of its names, 8 bytes each,
// little-endian: the "values" of a VersionVector task before base64. It
// fails when t cannot be written as one: its names must list each of its
// parameters once, without commas, and every value must be finite.
func (t *Task) vector() ([]byte, error) {
	if len(t.Names) != len(t.Params) || !distinct(t.Names) {
		return nil, fmt.Errorf("%w: task %s: its names do not list each of its parameters once", ErrNotEncodable, t.ID)
	}
	raw := make([]byte, 8*len(t.Names))
	for i, n := range t.Names {
		v, ok := t.Params[n]
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: task %s: its names do not list each of its parameters once", ErrNotEncodable, t.ID)
		case math.IsNaN(v) || math.IsInf(v, 0):
			return nil, fmt.Errorf("%w: task %s: parameter %q is %v", ErrNotEncodable, t.ID, n, v)
		case strings.IndexByte(n, ',') >= 0:
			return nil, fmt.Errorf("%w: task %s: parameter name %q holds a comma", ErrNotEncodable, t.ID, n)
		}
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(v))
	}
	return raw, nil
}

// CoversExactly reports whether names lists each key of m exactly once.
func CoversExactly(names []string, m map[string]float64) bool {
	if len(names) != len(m) {
		return false
	}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return false
		}
	}
	return distinct(names)
}

// distinctSeen are the last names slices distinct found without repeats
// (a study's tasks share one, its trial log another, and a set of their
// size costs more than the rest of an encoding), and next the slot the
// next one goes to. Names slices are not modified once made.
var (
	distinctSeen [8]atomic.Pointer[[]string]
	distinctNext atomic.Uint32
)

// distinct reports whether names holds no name twice.
func distinct(names []string) bool {
	if len(names) == 0 {
		return true
	}
	for i := range distinctSeen {
		if p := distinctSeen[i].Load(); p != nil && len(*p) == len(names) && &(*p)[0] == &names[0] {
			return true
		}
	}
	seen := make(map[string]struct{}, len(names))
	for _, n := range names {
		if _, dup := seen[n]; dup {
			return false
		}
		seen[n] = struct{}{}
	}
	distinctSeen[distinctNext.Add(1)%uint32(len(distinctSeen))].Store(&names)
	return true
}

// MarshalJSON implements json.Marshaler: the form of the task's version.
func (t Task) MarshalJSON() ([]byte, error) { return t.Encode() }

// Encode is the task's message, as MarshalJSON writes it; called directly
// it spares encoding/json's check of what MarshalJSON returns.
func (t *Task) Encode() ([]byte, error) {
	if t.V != VersionVector {
		type plain Task // without this method
		return json.Marshal(plain(*t))
	}
	raw, err := t.vector()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 160+len(t.ID)+len(t.Study)+len(t.Objective)+len(t.Epoch)+12*len(t.Names)+(8*len(t.Names)+2)/3*4)
	b = append(b, `{"v":3,"id":`...)
	b = appendString(b, t.ID)
	b = append(b, `,"study":`...)
	b = appendString(b, t.Study)
	b = append(b, `,"trial":`...)
	b = appendString(b, t.Trial)
	b = append(b, `,"objective":`...)
	b = appendString(b, t.Objective)
	b = append(b, `,"seed":`...)
	b = strconv.AppendInt(b, t.Seed, 10)
	b = append(b, `,"names":"`...)
	for i, n := range t.Names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRaw(b, n)
	}
	b = append(b, `","values":"`...)
	b = base64.StdEncoding.AppendEncode(b, raw)
	b = append(b, '"')
	if len(t.Labels) > 0 {
		l, err := json.Marshal(t.Labels)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"labels":`...)
		b = append(b, l...)
	}
	if t.Epoch != "" {
		b = append(b, `,"epoch":`...)
		b = appendString(b, t.Epoch)
	}
	return append(b, '}'), nil
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	if plainString(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// appendRaw appends s, a name, inside a JSON string: as is when it needs
// no escaping, else escaped.
func appendRaw(b []byte, s string) []byte {
	if plainString(s) {
		return append(b, s...)
	}
	q, _ := json.Marshal(s)
	return append(b, q[1:len(q)-1]...)
}

// plainString reports whether s is a JSON string as it stands: printable
// ASCII without quotes, backslashes or the characters encoding/json
// escapes for HTML.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// UnmarshalJSON implements json.Unmarshaler for every version. It checks
// the vector of a VersionVector task (its length, its names); DecodeTask
// checks the rest.
func (t *Task) UnmarshalJSON(data []byte) error {
	var w taskJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*t = Task{V: w.V, ID: w.ID, Study: w.Study, Trial: w.Trial, Objective: w.Objective, Seed: w.Seed,
		Params: w.Params, Labels: w.Labels, Epoch: w.Epoch}
	if w.V != VersionVector {
		if len(w.Names) > 0 && !bytes.Equal(w.Names, []byte("null")) {
			if err := json.Unmarshal(w.Names, &t.Names); err != nil {
				return fmt.Errorf("names: %w", err)
			}
		}
		return nil
	}
	if w.Params != nil {
		return errors.New("a v=3 task carries its values in \"values\", not \"params\"")
	}
	var joined string
	if err := json.Unmarshal(w.Names, &joined); err != nil {
		return fmt.Errorf("names of a v=3 task: %w", err)
	}
	return t.setVector(joined, w.Values)
}

// setVector sets t's Names and Params from a VersionVector task's names
// and values.
func (t *Task) setVector(joined, values string) error {
	raw, err := base64.StdEncoding.DecodeString(values)
	if err != nil {
		return fmt.Errorf("values: %w", err)
	}
	if len(raw)%8 != 0 {
		return fmt.Errorf("values: %d bytes, not a whole number of float64s", len(raw))
	}
	n := len(raw) / 8
	if n > MaxParams {
		return fmt.Errorf("%d parameters, more than the %d accepted", n, MaxParams)
	}
	if k := namesIn(joined); k != n {
		return fmt.Errorf("%d names for %d values", k, n)
	}
	names, cached := splitNames(joined)
	t.Params = make(Params, n)
	for i, name := range names {
		if _, dup := t.Params[name]; dup {
			return fmt.Errorf("parameter %q named twice", name)
		}
		t.Params[name] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	t.Names = names
	if !cached {
		lastNames.Store(&splitName{joined: joined, names: names})
	}
	return nil
}

// namesIn is the number of names joined lists.
func namesIn(joined string) int {
	if joined == "" {
		return 0
	}
	return strings.Count(joined, ",") + 1
}

// lastNames is the names of the last VersionVector task decoded, split: an
// evaluator gets the same names in every task of a study.
var lastNames atomic.Pointer[splitName]

type splitName struct {
	joined string
	names  []string
}

// splitNames splits a VersionVector task's names, and reports whether they
// are the last ones a valid task had (lastNames); the caller stores names
// that pass its checks there. The slice may be shared with other tasks: it
// is not to be modified.
func splitNames(joined string) (names []string, cached bool) {
	if joined == "" {
		return nil, false
	}
	if last := lastNames.Load(); last != nil && last.joined == joined {
		return last.names, true
	}
	return strings.Split(joined, ","), false
}

// AppendJSONFloat appends v as encoding/json writes a float64 (v finite).
func AppendJSONFloat(b []byte, v float64) []byte {
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// AppendJSONString appends s as encoding/json writes a string.
func AppendJSONString(b []byte, s string) []byte { return appendString(b, s) }
