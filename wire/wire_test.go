package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeRejectsBadMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
	}{
		{"not json", "hello"},
		{"old version", `{"v":0,"id":"a"}`},
		{"no id", `{"v":1}`},
		{"empty param name", `{"v":1,"id":"a","params":{"":1}}`},
		{"long param name", `{"v":1,"id":"a","params":{"` + strings.Repeat("x", MaxNameBytes+1) + `":1}}`},
		{"long name in names", `{"v":1,"id":"a","params":{"x":1},"names":["` + strings.Repeat("x", MaxNameBytes+1) + `"]}`},
		{"too many params", manyParams(MaxParams + 1)},
		{"too large", `{"v":1,"id":"a","study":"` + strings.Repeat("s", MaxPayload) + `"}`},
		{"labels in a v1 task", `{"v":1,"id":"a","params":{"opt":0},"labels":{"opt":"adam"}}`},
		{"label of no parameter", `{"v":2,"id":"a","params":{"x":0},"labels":{"opt":"adam"}}`},
		{"long label", `{"v":2,"id":"a","params":{"opt":0},"labels":{"opt":"` + strings.Repeat("a", MaxLabelBytes+1) + `"}}`},
		{"future version", `{"v":3,"id":"a"}`},
	} {
		if _, err := DecodeTask([]byte(tc.data)); err == nil {
			t.Errorf("%s: task accepted", tc.name)
		}
	}
	if _, err := DecodeReply([]byte(`{"v":2,"id":"a"}`)); !errors.Is(err, ErrVersion) {
		t.Errorf("want ErrVersion, got %v", err)
	}
	big := `{"v":1,"id":"a","value":1,"stderr":"` + strings.Repeat("e", MaxPayload) + `"}`
	if _, err := DecodeReply([]byte(big)); err == nil || !strings.Contains(err.Error(), "more than the 8388608 accepted") {
		t.Errorf("reply of %d bytes: got %v", len(big), err)
	}
	// At the limits, a task is accepted.
	name := strings.Repeat("x", MaxNameBytes)
	task, err := DecodeTask([]byte(`{"v":1,"id":"a","params":{"` + name + `":1},"names":["` + name + `"]}`))
	if err != nil || task.Params[name] != 1 {
		t.Errorf("name of %d bytes: %v", len(name), err)
	}
	if task, err := DecodeTask([]byte(manyParams(MaxParams))); err != nil || len(task.Params) != MaxParams {
		t.Errorf("%d params: %v", MaxParams, err)
	}
	// A categorical parameter: its index in params, its value in labels.
	task, err = DecodeTask([]byte(`{"v":2,"id":"a","params":{"opt":1,"x":0.5},"labels":{"opt":"sgd"}}`))
	if err != nil || task.Labels["opt"] != "sgd" || task.Params["opt"] != 1 {
		t.Errorf("task with a label: %+v, %v", task, err)
	}
}

// manyParams is a task with n parameters.
func manyParams(n int) string {
	var b strings.Builder
	b.WriteString(`{"v":1,"id":"a","params":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"p%d":%d`, i, i)
	}
	b.WriteString("}}")
	return b.String()
}

func FuzzDecodeTask(f *testing.F) {
	f.Add([]byte(`{"v":1,"id":"s/000001","study":"s","trial":"000001","seed":3,"params":{"x":0.5}}`))
	f.Add([]byte(`{"v":1,"id":"a","params":{"x":1e400}}`))
	f.Add([]byte(`{"v":2,"id":"a","params":{"opt":1},"labels":{"opt":"sgd"}}`))
	f.Add([]byte(`{"v":3,"id":"s/000001","study":"s","trial":"000001","seed":3,"names":"x,y","values":"AAAAAAAA4D8AAAAAAADwvw=="}`))
	f.Add([]byte(`{"v":3,"id":"a","names":"opt","values":"AAAAAAAA8D8=","labels":{"opt":"sgd"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		task, err := DecodeTask(data)
		if err != nil {
			return
		}
		if task.ID == "" || task.V != Version && task.V != VersionLabels && task.V != VersionVector || task.V == Version && len(task.Labels) > 0 {
			t.Fatalf("accepted invalid task %+v", task)
		}
		for k := range task.Labels {
			if _, ok := task.Params[k]; !ok {
				t.Fatalf("accepted a label of no parameter %q", k)
			}
		}
		for k, v := range task.Params {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("accepted non-finite param %s", k)
			}
		}
		// What is accepted survives the trip to the store and back.
		data, err = json.Marshal(task)
		if err != nil {
			t.Fatalf("accepted task does not encode: %v", err)
		}
		if again, err := DecodeTask(data); err != nil || !reflect.DeepEqual(again, task) {
			t.Fatalf("round trip of %+v: %+v, %v", task, again, err)
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	f.Add([]byte(`{"v":1,"id":"s/1","value":1.5,"evaluator":"e","seconds":0.1}`))
	f.Add([]byte(`{"v":1,"id":"s/1","error":"boom","reason":"exit"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeReply(data)
		if err != nil {
			return
		}
		if r.Error == "" && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0)) {
			t.Fatal("accepted non-finite success")
		}
	})
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"quartic": true, "my_sim-2": true, "": false, "a b": false, "a.b": false, "a>": false, "é": false} {
		if err := CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", name, err, ok)
		}
	}
	if id := TrialID(42); id != "000042" {
		t.Errorf("TrialID(42) = %q", id)
	}
}

// A reply's failure names its task, reason and stderr.
func TestEvalError(t *testing.T) {
	r := Reply{ID: "s/000007", Error: "boom", Reason: ReasonExit, Stderr: "trace"}
	var ee *EvalError
	if err := r.Err(); !errors.As(err, &ee) || ee.Reason != ReasonExit || !strings.Contains(err.Error(), "s/000007") || !strings.Contains(err.Error(), "trace") {
		t.Errorf("Err() = %v", err)
	}
	if err := (&Reply{ID: "s/1", Value: 1}).Err(); err != nil {
		t.Errorf("success: Err() = %v", err)
	}
}
