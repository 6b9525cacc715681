package simexec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/zotune/zotune/wire"
)

// request is the JSON object a simulator receives on stdin.
type request struct {
	ID     string          `json:"id"` // Task.ID, "<study>/<trial>"; a stdio answer echoes it
	Study  string          `json:"study"`
	Trial  string          `json:"trial"`
	Seed   int64           `json:"seed"`
	Params json.RawMessage `json:"params"`
}

// encodeRequest returns the request line (newline included) for t and its
// params object on its own. Params appear in t.Names order when Names lists
// them all, else sorted by name; a categorical one as its label, a string.
func encodeRequest(t *wire.Task) (line, params []byte, err error) {
	params, err = encodeParams(t.Params, t.Labels, t.Names)
	if err != nil {
		return nil, nil, err
	}
	line, err = json.Marshal(request{ID: t.ID, Study: t.Study, Trial: t.Trial, Seed: t.Seed, Params: params})
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the request: %w", err)
	}
	return append(line, '\n'), params, nil
}

func encodeParams(params map[string]float64, labels map[string]string, names []string) ([]byte, error) {
	order := names
	if !coversExactly(names, params) {
		order = make([]string, 0, len(params))
		for k := range params {
			order = append(order, k)
		}
		slices.Sort(order)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range order {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("encoding parameter name %q: %w", k, err)
		}
		var val []byte
		if l, ok := labels[k]; ok {
			val, err = json.Marshal(l)
		} else {
			val, err = json.Marshal(params[k])
		}
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", k, err)
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// coversExactly reports whether names lists each key of m exactly once.
func coversExactly(names []string, m map[string]float64) bool {
	if len(names) != len(m) {
		return false
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if _, ok := m[n]; !ok || seen[n] {
			return false
		}
		seen[n] = true
	}
	return true
}
