package zo_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
)

// TestSpeculate: with speculative stencils ZO-GD takes the same path
// (the same final point and value, bit for bit) in fewer rounds; the
// queries it adds are whole stencils, 2d for each step whose guess missed.
func TestSpeculate(t *testing.T) {
	for _, p := range append(saddleProblems(), problems()[0]) {
		t.Run(p.name, func(t *testing.T) {
			run := func(spec bool) (*zo.Outcome, *zo.Counter) {
				c := &zo.Counter{Oracle: &boxed{tb: t, f: p.f, box: p.box}}
				m, err := zo.NewMethod(zo.MethodGD, zo.Settings{Epsilon: 1e-4, Delta: 1e-2, Speculate: spec},
					negcurv.Lanczos{Adaptive: true}, rand.New(rand.NewPCG(3, 4)))
				if err != nil {
					t.Fatal(err)
				}
				out, err := m.Minimize(context.Background(), c, zo.Problem{X0: p.x0, Box: p.box})
				if err != nil {
					t.Fatal(err)
				}
				return out, c
			}
			plain, pc := run(false)
			spec, sc := run(true)
			if plain.Status != zo.StatusConverged || spec.Status != plain.Status {
				t.Fatalf("status %s, %s with speculation", plain.Status, spec.Status)
			}
			if !slices.Equal(plain.X, spec.X) || plain.F != spec.F || plain.Iterations != spec.Iterations {
				t.Errorf("speculation changed the path: f = %v after %d iterations, plain %v after %d", spec.F, spec.Iterations, plain.F, plain.Iterations)
			}
			d := len(p.x0)
			extra := sc.Queries - pc.Queries
			if sc.Rounds >= pc.Rounds || extra < 0 || extra%(2*d) != 0 {
				t.Errorf("rounds %d (plain %d), queries %d (plain %d): want fewer rounds and whole stencils of %d more", sc.Rounds, pc.Rounds, sc.Queries, pc.Queries, 2*d)
			}
			t.Logf("rounds %d → %d, queries %d → %d", pc.Rounds, sc.Rounds, pc.Queries, sc.Queries)
		})
	}
}
