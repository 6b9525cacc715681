package simexec

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/zotune/zotune/wire"
)

// The request line is byte for byte what encoding/json writes of the
// request object, with params in the task's names order.
func TestRequestAsEncodingJSON(t *testing.T) {
	task := &wire.Task{ID: "s<1>/000003", Study: "s<1>", Trial: "000003", Seed: -7,
		Params: wire.Params{"lr": 1e-7, "n": 1000000, "opt": 1, "x\"q": -0.5},
		Names:  []string{"opt", "n", "lr", "x\"q"}, Labels: map[string]string{"opt": "a&b"}}
	line, params, err := encodeRequest(task)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	want.WriteString(`{"id":"s\u003c1\u003e/000003","study":"s\u003c1\u003e","trial":"000003","seed":-7,"params":`)
	want.WriteString(`{"opt":"a\u0026b","n":1000000,"lr":1e-7,"x\"q":-0.5}}` + "\n")
	if string(line) != want.String() {
		t.Errorf("request line\n got %s\nwant %s", line, want.String())
	}
	var back struct {
		Params map[string]any `json:"params"`
	}
	if err := json.Unmarshal(line, &back); err != nil || back.Params["opt"] != "a&b" || back.Params["lr"] != 1e-7 {
		t.Errorf("does not decode: %v %v", back, err)
	}
	if !bytes.Contains(line, params) {
		t.Errorf("params %s not in the line", params)
	}
	// Without names covering the params: sorted by name.
	task.Names = nil
	if _, params, _ = encodeRequest(task); string(params) != `{"lr":1e-7,"n":1000000,"opt":"a\u0026b","x\"q":-0.5}` {
		t.Errorf("sorted params: %s", params)
	}
}
