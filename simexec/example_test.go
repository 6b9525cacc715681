//go:build unix

package simexec_test

import (
	"context"
	"fmt"

	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/wire"
)

// A Runner evaluates one task by running the command with the task's
// values substituted; the last line the command prints is the result.
func ExampleRunner() {
	r, err := simexec.New(simexec.Options{Command: []string{"echo", "step 1\n{x}"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	rep := r.Handle(context.Background(), &wire.Task{
		ID: "demo/1", Study: "demo", Trial: "1", Seed: 7,
		Params: map[string]float64{"x": 0.1},
	})
	fmt.Println(rep.Value, rep.Err())
	// Output: 0.1 <nil>
}
