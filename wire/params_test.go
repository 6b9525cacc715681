package wire

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// Params encode as encoding/json encodes the map (sorted keys, a JSON
// object) and decode to the same values, bit for bit; a name that needs
// escaping is escaped; a non-finite value is an error.
func TestParamsJSON(t *testing.T) {
	p := Params{"x2": -1.5, "x10": 1e-300, "x1": 0.1, "b": 1e21, "a_1": math.Copysign(0, -1), "n": 3}
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a_1":-0,"b":1e+21,"n":3,"x1":0.1,"x10":1e-300,"x2":-1.5}`
	if string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	var back map[string]float64
	if err := json.Unmarshal(got, &back); err != nil || !reflect.DeepEqual(map[string]float64(p), back) || math.Signbit(back["a_1"]) != true {
		t.Errorf("round trip: %v, %v", back, err)
	}
	odd := Params{"a\"b\n\x00é": 1}
	if got, err := json.Marshal(odd); err != nil || string(got) != `{"a\"b\n\u0000é":1}` {
		t.Errorf("escaped name: %s, %v", got, err)
	}
	if _, err := json.Marshal(Params{"x": math.NaN()}); err == nil {
		t.Error("NaN encoded")
	}
}

// benchTask is a task of 64 parameters, a VersionVector one with names
// (travelling as a vector) or a Version one without (as an object).
func benchTask(names bool) Task {
	p := Params{}
	ns := make([]string, 64)
	for i := range ns {
		ns[i] = "x" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		p[ns[i]] = float64(i) * 0.0123456789
	}
	t := Task{V: Version, ID: "s/000001", Study: "s", Trial: "000001", Objective: "q", Seed: 1, Params: p}
	if names {
		t.V, t.Names = VersionVector, ns
	}
	return t
}

// BenchmarkTaskMarshal encodes a task of 64 parameters as dispatch and the
// journal do: as a vector (VersionVector), as an object of named numbers
// (Params), and with the plain map encoding/json sorts by reflection, in
// the same run.
func BenchmarkTaskMarshal(b *testing.B) {
	vector, object := benchTask(true), benchTask(false)
	for _, c := range []struct {
		name string
		v    any
	}{
		{"vector, Encode", nil},
		{"vector", vector},
		{"object", object},
		{"map", struct {
			V         int                `json:"v"`
			ID        string             `json:"id"`
			Study     string             `json:"study"`
			Trial     string             `json:"trial"`
			Objective string             `json:"objective"`
			Seed      int64              `json:"seed"`
			Params    map[string]float64 `json:"params"`
		}{object.V, object.ID, object.Study, object.Trial, object.Objective, object.Seed, object.Params}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				if c.v == nil {
					if _, err := vector.Encode(); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if _, err := json.Marshal(c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTaskDecode decodes what an evaluator receives: a task of 64
// parameters as a vector and as an object.
func BenchmarkTaskDecode(b *testing.B) {
	for _, c := range []struct {
		name  string
		names bool
	}{{"vector", true}, {"object", false}} {
		data, err := json.Marshal(benchTask(c.names))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				if _, err := DecodeTask(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
