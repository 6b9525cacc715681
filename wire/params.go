package wire

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Params are a task's parameter values by name. They encode as a JSON
// object with the keys in sorted order, as encoding/json writes a map, but
// without its reflection: encoding/json's map encoder (a reflective sort of
// the keys, a value per key) was a fifth of the daemon's CPU in a profile
// at d = 64 (docs/benchmarks.md). This encoder allocates 4 times per task
// instead of 131, and is only about 6% faster per task
// (BenchmarkTaskMarshal): encoding/json still validates what MarshalJSON
// returns, and formatting 64 floats stays. A compact wire format is the
// larger step. Values are written with strconv's shortest 'g' form, which
// parses back to the same float64.
type Params map[string]float64

// MarshalJSON implements json.Marshaler.
func (p Params) MarshalJSON() ([]byte, error) {
	b, _, err := p.AppendJSON(nil, nil)
	return b, err
}

// AppendJSON appends p as MarshalJSON writes it. sorted may be the sorted
// keys of an earlier Params with the same keys (a study's points all have
// its parameters): it is used if it lists p's keys, which spares the sort;
// the keys used are returned, for the next call.
func (p Params) AppendJSON(b []byte, sorted []string) ([]byte, []string, error) {
	if p == nil {
		return append(b, "null"...), sorted, nil
	}
	keys := sorted
	if !CoversExactly(keys, p) {
		keys = make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	b = slices.Grow(b, 2+len(keys)*24)
	b = append(b, '{')
	for i, k := range keys {
		v := p[k]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, sorted, fmt.Errorf("%w: parameter %q is %v", ErrNotEncodable, k, v)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, k)
		b = append(b, ':')
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, '}'), keys, nil
}

// appendKey appends k as a JSON string: as is, quoted, when it holds only
// letters, digits and '_' (every study's names), else as encoding/json
// escapes it.
func appendKey(b []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			q, _ := json.Marshal(k) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"')
}
