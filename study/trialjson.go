package study

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/zotune/zotune/wire"
)

// appendTrial appends tr's line of trials.jsonl (without the newline),
// byte for byte what encoding/json writes of it (TestTrialJSON), without
// its reflection: trial-log lines were a tenth of the daemon's CPU at
// d = 64 (docs/benchmarks.md, "Overhead").
//
// keys is the sorted parameter names of an earlier trial, or nil (see
// wire.Params.AppendJSON); the names used are returned for the next.
func appendTrial(b []byte, tr *Trial, keys []string) ([]byte, []string, error) {
	b = append(b, `{"trial":`...)
	b = wire.AppendJSONString(b, tr.Trial)
	b = append(b, `,"params":`...)
	b, keys, err := tr.Params.AppendJSON(b, keys)
	if err != nil {
		return nil, keys, err
	}
	if len(tr.Labels) > 0 {
		b = append(b, `,"labels":`...)
		b = appendObject(b, tr.Labels, wire.AppendJSONString)
	}
	b = append(b, `,"seed":`...)
	b = strconv.AppendInt(b, tr.Seed, 10)
	if tr.Value != nil {
		if b, err = appendFloat(append(b, `,"value":`...), *tr.Value); err != nil {
			return nil, keys, err
		}
	}
	for _, f := range []struct{ key, v string }{{"error", tr.Error}, {"reason", tr.Reason}, {"stderr", tr.Stderr}} {
		if f.v != "" {
			b = append(b, `,"`+f.key+`":`...)
			b = wire.AppendJSONString(b, f.v)
		}
	}
	if len(tr.Metrics) > 0 {
		for _, v := range tr.Metrics {
			if _, err := appendFloat(nil, v); err != nil {
				return nil, keys, err
			}
		}
		b = append(b, `,"metrics":`...)
		b = appendObject(b, tr.Metrics, wire.AppendJSONFloat)
	}
	b = append(b, `,"evaluator":`...)
	b = wire.AppendJSONString(b, tr.Evaluator)
	started, err := tr.Started.MarshalJSON()
	if err != nil {
		return nil, keys, err
	}
	b = append(append(b, `,"started":`...), started...)
	if b, err = appendFloat(append(b, `,"seconds":`...), tr.Seconds); err != nil {
		return nil, keys, err
	}
	return append(b, '}'), keys, nil
}

// appendFloat appends v as encoding/json does, refusing what it refuses.
func appendFloat(b []byte, v float64) ([]byte, error) {
	if v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308 {
		_, err := json.Marshal(v) // the error encoding/json gives
		return nil, err
	}
	return wire.AppendJSONFloat(b, v), nil
}

// appendObject appends m as a JSON object with sorted keys.
func appendObject[V any](b []byte, m map[string]V, value func([]byte, V) []byte) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendJSONString(b, k)
		b = append(b, ':')
		b = value(b, m[k])
	}
	return append(b, '}')
}
