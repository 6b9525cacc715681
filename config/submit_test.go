package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/zotune/zotune/internal/tomlcheck"
	"github.com/zotune/zotune/study"
)

// The four ways to write a submission define the same study.
func TestParseStudiesForms(t *testing.T) {
	docs := map[string]string{
		"toml, one study": `name = "demo"
objective = "quartic"
max_evaluations = 500
max_time = "10m"
[[param]]
name = "x1"
min = -2
max = 2
init = 0.9
`,
		"toml, [[study]]": `[[study]]
name = "demo"
objective = "quartic"
max_evaluations = 500
max_time = "10m"
  [[study.param]]
  name = "x1"
  min = -2.0
  max = 2.0
  init = 0.9
`,
		"json, one study": `{"name": "demo", "objective": "quartic", "max_evaluations": 500, "max_time": "10m", "target": null,
  "param": [{"name": "x1", "min": -2, "max": 2, "init": 0.9}]}`,
		"json, study array": `{"study": [{"name": "demo", "objective": "quartic", "max_evaluations": 500, "max_time": "10m",
  "param": [{"name": "x1", "min": -2.0, "max": 2e0, "init": 0.9}]}]}`,
	}
	want := study.DefaultSpec()
	want.Name, want.Objective, want.MaxEvaluations, want.MaxTime = "demo", "quartic", 500, 600e9
	init := 0.9
	want.Params = []study.Param{{Name: "x1", Min: -2, Max: 2, Init: &init, Scale: "linear"}}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			specs, err := ParseStudies([]byte(doc), "demo.study")
			if err != nil {
				t.Fatal(err)
			}
			if len(specs) != 1 || !reflect.DeepEqual(specs[0], want) {
				t.Errorf("got %+v\nwant %+v", specs, want)
			}
		})
	}
}

// Problems in a submission are reported as in a config file: every one,
// with the key and the line it is on, JSON as TOML.
func TestParseStudiesErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string // one per problem, in order
	}{
		{"toml: bad values and an unknown key", `name = "demo"
objective = "quartic"
epsilon = -1
[[param]]
name = "x1"
min = 2
max = 1
steps = 3
`, []string{
			"f:3: epsilon: must be finite and > 0",
			"f:7: param[0].max: must be greater than min",
			"f:8: param[0].steps: unknown key in [[param]]",
		}},
		{"json: the same", `{
  "name": "demo",
  "objective": "quartic",
  "epsilon": -1,
  "param": [
    {"name": "x1", "min": 2, "max": 1,
     "steps": 3}
  ]
}`, []string{
			"f:4: epsilon: must be finite and > 0",
			"f:6: param[0].max: must be greater than min",
			"f:7: param[0].steps: unknown key in [[param]]",
		}},
		{"json: wrong type", "{\"name\": \"demo\",\n\"objective\": 3,\n\"param\": [{\"name\": \"x\", \"min\": 0, \"max\": 1}]}",
			[]string{"f:2: objective: wrong type: got integer, want string"}},
		{"json: misspelt key", "{\"name\": \"demo\", \"objective\": \"q\",\n\"max_evaluation\": 3,\n\"param\": [{\"name\": \"x\", \"min\": 0, \"max\": 1}]}",
			[]string{`f:2: max_evaluation: unknown key at top level; did you mean "max_evaluations"?`}},
		{"json: syntax", "{\"name\": \"demo\",\n\"objective\": }", []string{"f:2: not valid JSON: invalid character '}'"}},
		{"json: not an object", `[{"name": "demo"}]`, []string{"f:1: a JSON document must be an object"}},
		{"json: trailing text", "{\"name\": \"demo\"}\n{}", []string{"f:2: unexpected text after the JSON object"}},
		{"json: huge number", `{"name": "d", "objective": "q", "epsilon": 1e999, "param": []}`, []string{"epsilon: number 1e999 is out of range"}},
		{"toml: no param", "name = \"demo\"\nobjective = \"q\"\n", []string{"param: at least one parameter is required"}},
		{"toml: duplicate names", "[[study]]\nname = \"a\"\nobjective = \"q\"\n[[study.param]]\nname = \"x\"\nmin = 0\nmax = 1\n" +
			"[[study]]\nname = \"a\"\nobjective = \"q\"\n[[study.param]]\nname = \"x\"\nmin = 0\nmax = 1\n",
			[]string{`f:9: study[1].name: duplicate study name "a" (also study[0])`}},
		{"toml: a daemon section", "[nats]\nurl = \"x\"\n[[study]]\nname = \"a\"\nobjective = \"q\"\n[[study.param]]\nname = \"x\"\nmin = 0\nmax = 1\n",
			[]string{"f:1: nats: unknown key at top level"}},
		{"empty", "", []string{"f: name: required", "f: objective: required", "f: param: at least one parameter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStudies([]byte(tt.doc), "f")
			if err == nil {
				t.Fatal("accepted")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d: %q, want it to contain %q", i, lines[i], w)
				}
			}
			var p *tomlcheck.Problem
			if !errors.As(err, &p) {
				t.Errorf("error is not a *tomlcheck.Problem: %T", err)
			}
		})
	}
}

// FuzzParseStudies: a submission is read, or refused with an error a line
// per problem; what is read is a study that can run.
func FuzzParseStudies(f *testing.F) {
	f.Add([]byte("name = \"demo\"\nobjective = \"q\"\n[[param]]\nname = \"x\"\nmin = 0\nmax = 1\n"))
	f.Add([]byte(`{"name": "d", "objective": "q", "param": [{"name": "x", "min": 0, "max": 1, "scale": "log"}], "seed": 3}`))
	f.Add([]byte(`{"study": [{"name": "d", "objective": "q", "param": [{"name": "x", "min": 1, "max": 2}]}]}`))
	f.Add([]byte(`{"a": [1, {"b": null}], "c": {"d": [[1], "x"]}}`))
	f.Add([]byte("[[study]]\nparam = [{name = \"x\", min = \"0\"}]\nseed = -2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, err := ParseStudies(data, "f")
		if err != nil {
			for l := range strings.SplitSeq(err.Error(), "\n") {
				if strings.TrimSpace(l) == "" {
					t.Fatalf("empty line in error %q", err)
				}
			}
			return
		}
		if len(specs) == 0 {
			t.Fatal("no error and no study")
		}
		for _, spec := range specs {
			if ps := spec.Problems(); len(ps) > 0 {
				t.Fatalf("accepted a study with problems: %v", ps.Err())
			}
			if _, err := study.NewSpace(spec.Params); err != nil {
				t.Fatalf("study %s: %v", spec.Name, err)
			}
		}
	})
}
