package zo_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/zotune/zotune/zo"
)

// BenchmarkScaleD measures what zo-gd itself costs as d grows, from 10 to
// 100,000: one iteration (a central coordinate gradient, 2d queries, and
// its line search) on an objective that reads two coordinates, so that
// the time and memory are the optimizer's. It reports ns/query and
// ns/query/d (the work of building a query point; flat means O(d) per
// query), the bytes allocated per iteration (B/op) and per coordinate,
// and the heap in use at the end (heap-MB). Above d ≈ 2000 a gradient's
// query points are sent in batches of at most 64 MiB (see zo's
// chunkedGradient): no d×d array is ever made.
//
//	go test -run '^$' -bench ScaleD -benchmem ./zo
func BenchmarkScaleD(b *testing.B) {
	dims := []int{10, 100, 1000, 10_000, 100_000}
	if testing.Short() {
		dims = dims[:3]
	}
	for _, d := range dims {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			f := zo.Func(func(x []float64, _ int) float64 {
				return (x[0]-0.3)*(x[0]-0.3) + (x[d-1]+0.2)*(x[d-1]+0.2)
			})
			queries := 0
			b.ReportAllocs()
			for range b.N {
				c := &zo.Counter{Oracle: f}
				m := &zo.GD{Settings: zo.Settings{Epsilon: 1e-300}}
				_, err := m.Minimize(context.Background(), &zo.Budget{Oracle: c, Max: 2*d + 24}, zo.Problem{X0: make([]float64, d)})
				if err != nil && !errors.Is(err, zo.ErrBudget) {
					b.Fatal(err)
				}
				if c.Queries < 2*d {
					b.Fatalf("%d queries: the gradient was not estimated", c.Queries)
				}
				queries += c.Queries
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			ns := float64(b.Elapsed().Nanoseconds()) / float64(queries)
			b.ReportMetric(ns, "ns/query")
			b.ReportMetric(ns/float64(d), "ns/query/d")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		})
	}
}
