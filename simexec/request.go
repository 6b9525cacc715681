package simexec

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/zotune/zotune/wire"
)

// The request a simulator receives on stdin is a JSON object:
//
//	{"id": Task.ID ("<study>/<trial>"; a stdio answer echoes it), "study", "trial", "seed", "params": {...}}
//
// written here without reflection, byte for byte as encoding/json would
// write it (TestRequestAsEncodingJSON).

// encodeRequest returns the request line (newline included) for t and its
// params object on its own. Params appear in t.Names order when Names lists
// them all, else sorted by name; a categorical one as its label, a string.
func encodeRequest(t *wire.Task) (line, params []byte, err error) {
	params, err = encodeParams(t.Params, t.Labels, t.Names)
	if err != nil {
		return nil, nil, err
	}
	line = make([]byte, 0, len(params)+len(t.ID)+len(t.Study)+len(t.Trial)+64)
	line = append(line, `{"id":`...)
	line = wire.AppendJSONString(line, t.ID)
	line = append(line, `,"study":`...)
	line = wire.AppendJSONString(line, t.Study)
	line = append(line, `,"trial":`...)
	line = wire.AppendJSONString(line, t.Trial)
	line = append(line, `,"seed":`...)
	line = strconv.AppendInt(line, t.Seed, 10)
	line = append(line, `,"params":`...)
	line = append(line, params...)
	return append(line, "}\n"...), params, nil
}

func encodeParams(params map[string]float64, labels map[string]string, names []string) ([]byte, error) {
	order := names
	if !wire.CoversExactly(names, params) {
		order = make([]string, 0, len(params))
		for k := range params {
			order = append(order, k)
		}
		slices.Sort(order)
	}
	b := make([]byte, 0, 2+len(order)*24)
	b = append(b, '{')
	for i, k := range order {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendJSONString(b, k)
		b = append(b, ':')
		if l, ok := labels[k]; ok {
			b = wire.AppendJSONString(b, l)
			continue
		}
		v := params[k]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("parameter %q: json: unsupported value: %v", k, v)
		}
		b = wire.AppendJSONFloat(b, v)
	}
	return append(b, '}'), nil
}
