package wire

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// A v3 task travels as a vector and comes back bit for bit, in its
// names' order, labels and all; an older one as the object of its own
// version, as before; a v3 task whose names do not list its parameters
// once, or with a non-finite value, does not encode.
func TestTaskVector(t *testing.T) {
	vals := []float64{0.1, math.Copysign(0, -1), 5e-324, -1.7976931348623157e308, 1e21, 3}
	names := []string{"b", "a", "x10", "x2", "lr_1", "opt"}
	task := Task{V: VersionVector, ID: "s/000007", Study: "s", Trial: "000007", Objective: "q", Seed: -4,
		Params: Params{}, Names: names, Labels: map[string]string{"opt": "adam"}, Epoch: "e1"}
	for i, n := range names {
		task.Params[n] = vals[i]
	}
	data, err := json.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), `{"v":3,`) || strings.Contains(string(data), `"params"`) ||
		!strings.Contains(string(data), `"names":"b,a,x10,x2,lr_1,opt"`) {
		t.Errorf("not a vector: %s", data)
	}
	got, err := DecodeTask(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, task) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *got, task)
	}
	for n, v := range task.Params {
		if math.Float64bits(got.Params[n]) != math.Float64bits(v) {
			t.Errorf("%s: %v, want %v bit for bit", n, got.Params[n], v)
		}
	}

	plain := Task{V: Version, ID: "s/1", Params: Params{"x": 0.5}, Names: []string{"x"}}
	data, err = json.Marshal(plain)
	if err != nil || string(data) != `{"v":1,"id":"s/1","study":"","trial":"","objective":"","seed":0,"params":{"x":0.5},"names":["x"]}` {
		t.Errorf("a v1 task: %s, %v", data, err)
	}
	for _, bad := range []Task{
		{V: VersionVector, ID: "s/2", Params: Params{"x": 0.5, "y": 1}, Names: []string{"x", "x"}},
		{V: VersionVector, ID: "s/3", Params: Params{"x": math.NaN()}, Names: []string{"x"}},
		{V: VersionVector, ID: "s/4", Params: Params{"x,y": 1}, Names: []string{"x,y"}},
	} {
		if data, err := bad.Encode(); err == nil {
			t.Errorf("%+v encoded as %s", bad, data)
		}
	}
	old := `{"v":1,"id":"s/1","params":{"x":0.5,"y":1},"names":["y","x"]}`
	got, err = DecodeTask([]byte(old))
	if err != nil || got.V != Version || !reflect.DeepEqual(got.Names, []string{"y", "x"}) || got.Params["y"] != 1 {
		t.Errorf("v1 task: %+v, %v", got, err)
	}
}

// Every way a vector can be malformed is refused with what is wrong.
func TestTaskVectorRefused(t *testing.T) {
	// A hostile names string is counted before it is split: no memory for
	// names that cannot match the values.
	huge := `{"v":3,"id":"a","names":"` + strings.Repeat(",", 1<<20) + `","values":"AAAAAAAA8D8="}`
	if _, err := DecodeTask([]byte(huge)); err == nil || !strings.Contains(err.Error(), "1048577 names for 1 values") {
		t.Errorf("a million names for one value: %v", err)
	}
	if last := lastNames.Load(); last != nil && len(last.joined) > 1000 {
		t.Error("the refused names were kept")
	}
	for _, c := range []struct{ msg, want string }{
		{`{"v":3,"id":"a","names":"x","values":"not base64!"}`, "values"},
		{`{"v":3,"id":"a","names":"x","values":"AAAA"}`, "whole number"},
		{`{"v":3,"id":"a","names":"x,y","values":"AAAAAAAA8D8="}`, "2 names for 1 values"},
		{`{"v":3,"id":"a","names":"x,x","values":"AAAAAAAA4D8AAAAAAADwvw=="}`, "named twice"},
		{`{"v":3,"id":"a","names":"x","values":"AAAAAAAA8H8="}`, "not finite"},
		{`{"v":3,"id":"a","names":"x","values":"AAAAAAAA8D8=","params":{"x":1}}`, `not "params"`},
		{`{"v":3,"id":"a","names":["x"],"values":"AAAAAAAA8D8="}`, "names of a v=3 task"},
		{`{"v":3,"id":"a","names":"x,","values":"AAAAAAAA4D8AAAAAAADwvw=="}`, "empty parameter name"},
		{`{"v":3,"id":"a","names":"y","values":"AAAAAAAA8D8=","labels":{"x":"a"}}`, "not a parameter"},
	} {
		if _, err := DecodeTask([]byte(c.msg)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.msg, err, c.want)
		}
	}
}

// AppendJSONFloat and AppendJSONString write what encoding/json writes.
func TestAppendJSON(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -2.5, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 5e-324, 1e20, 1e21, 1.2345e22,
		-1.7976931348623157e308, 0.1, 1.0 / 3, 123456789.123} {
		want, _ := json.Marshal(v)
		if got := AppendJSONFloat(nil, v); string(got) != string(want) {
			t.Errorf("%v: %s, want %s", v, got, want)
		}
	}
	for _, s := range []string{"", "adam", "a b", `q"uote`, "back\\slash", "<html>&", "tab\t", "é", "\x00"} {
		want, _ := json.Marshal(s)
		if got := AppendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}
