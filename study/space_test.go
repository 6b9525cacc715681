package study

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/wire"
)

// spaceParams covers both scales, with bounds whose differences do not
// round-trip exactly in floating point.
var spaceParams = []Param{
	{Name: "lin", Min: -2, Max: 2, Scale: "linear"},
	{Name: "odd", Min: 0.1, Max: 0.7, Scale: "linear"},
	{Name: "wide", Min: -1e300, Max: 1e300, Scale: "linear"},
	{Name: "rate", Min: 1e-6, Max: 1, Scale: "log"},
	{Name: "big", Min: 3, Max: 7e12, Scale: "log"},
	{Name: "tiny", Min: 1e-300, Max: 1e-200, Scale: "log"},
}

func mustSpace(tb testing.TB, params []Param) *Space {
	tb.Helper()
	s, err := NewSpace(params)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func fill(n int, v float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = v
	}
	return x
}

func TestSpaceEndpoints(t *testing.T) {
	s := mustSpace(t, spaceParams)
	lo, hi := s.ToUser(fill(s.Dim(), 0)), s.ToUser(fill(s.Dim(), 1))
	for i, p := range s.Params {
		if lo[i] != p.Min || hi[i] != p.Max {
			t.Errorf("%s: ToUser(0), ToUser(1) = %v, %v; want exactly %v, %v", p.Name, lo[i], hi[i], p.Min, p.Max)
		}
	}
	for _, v := range []float64{0, 1} {
		u := s.ToUnit(s.ToUser(fill(s.Dim(), v)))
		for i, p := range s.Params {
			if u[i] != v {
				t.Errorf("%s: ToUnit(ToUser(%v)) = %v", p.Name, v, u[i])
			}
		}
	}
}

func TestSpaceRoundTrip(t *testing.T) {
	s := mustSpace(t, spaceParams)
	rng := rand.New(rand.NewPCG(1, 2))
	u := make([]float64, s.Dim())
	for range 10000 {
		for i := range u {
			u[i] = rng.Float64()
		}
		back := s.ToUnit(s.ToUser(u))
		for i, p := range s.Params {
			if math.Abs(back[i]-u[i]) > 1e-12 {
				t.Fatalf("%s: ToUnit(ToUser(%v)) = %v", p.Name, u[i], back[i])
			}
		}
	}
}

// ToUser never leaves [Min, Max], for random bounds and for unit
// coordinates anywhere, the ends and their neighbours included.
func TestSpaceStaysInBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float64{0, 1, math.Nextafter(0, 1), math.Nextafter(1, 0), 0.5, -0.1, 1.1, math.Inf(-1), math.Inf(1)}
	for range 2000 {
		var p Param
		if rng.IntN(2) == 0 {
			a, b := rng.NormFloat64()*math.Pow(10, float64(rng.IntN(20)-10)), rng.NormFloat64()*math.Pow(10, float64(rng.IntN(20)-10))
			p = Param{Name: "x", Min: min(a, b), Max: max(a, b), Scale: "linear"}
		} else {
			a, b := math.Exp(rng.NormFloat64()*20), math.Exp(rng.NormFloat64()*20)
			p = Param{Name: "x", Min: min(a, b), Max: max(a, b), Scale: "log"}
		}
		if !(p.Min < p.Max) {
			continue
		}
		s := mustSpace(t, []Param{p})
		for k := range 50 {
			u := rng.Float64()
			if k < len(special) {
				u = special[k]
			}
			x := s.ToUser([]float64{u})[0]
			if !(x >= p.Min && x <= p.Max) {
				t.Fatalf("%s [%v, %v]: ToUser(%v) = %v", p.Scale, p.Min, p.Max, u, x)
			}
			if v := s.ToUnit([]float64{x})[0]; !(v >= 0 && v <= 1) {
				t.Fatalf("%s [%v, %v]: ToUnit(%v) = %v", p.Scale, p.Min, p.Max, x, v)
			}
		}
	}
}

func TestSpaceInit(t *testing.T) {
	s := mustSpace(t, []Param{
		{Name: "lin", Min: -2, Max: 6, Scale: "linear"},
		{Name: "log", Min: 1e-3, Max: 10, Scale: "log"},
		{Name: "set", Min: 0, Max: 10, Init: ptr(2.5), Scale: "linear"},
		{Name: "setlog", Min: 1, Max: 100, Init: ptr(10.0), Scale: "log"},
		{Name: "atmax", Min: 1, Max: 100, Init: ptr(100.0), Scale: "log"},
	})
	u := s.Init()
	want := []float64{0.5, 0.5, 0.25, 0.5, 1}
	for i := range want {
		if math.Abs(u[i]-want[i]) > 1e-15 {
			t.Errorf("Init()[%d] = %v, want %v", i, u[i], want[i])
		}
	}
	x := s.Map(u)
	for name, w := range map[string]float64{"lin": 2, "log": 0.1, "set": 2.5, "setlog": 10, "atmax": 100} {
		if math.Abs(x[name]-w) > 1e-12*math.Abs(w) {
			t.Errorf("Map(Init())[%s] = %v, want %v", name, x[name], w)
		}
	}
	if got := strings.Join(s.Names(), ","); got != "lin,log,set,setlog,atmax" || s.Dim() != 5 {
		t.Errorf("Names() = %s, Dim() = %d", got, s.Dim())
	}
}

func TestSpaceClampsAndNaN(t *testing.T) {
	s := mustSpace(t, []Param{{Name: "x", Min: 1, Max: 4, Scale: "log"}})
	if x := s.ToUser([]float64{-3}); x[0] != 1 {
		t.Errorf("ToUser(-3) = %v, want 1", x[0])
	}
	if x := s.ToUser([]float64{7}); x[0] != 4 {
		t.Errorf("ToUser(7) = %v, want 4", x[0])
	}
	if u := s.ToUnit([]float64{-1}); u[0] != 0 {
		t.Errorf("ToUnit(-1) = %v, want 0", u[0])
	}
	if x := s.ToUser([]float64{math.NaN()}); !math.IsNaN(x[0]) {
		t.Errorf("ToUser(NaN) = %v, want NaN", x[0])
	}
	defer func() {
		if recover() == nil {
			t.Error("ToUser with the wrong dimension did not panic")
		}
	}()
	s.ToUser([]float64{0.5, 0.5})
}

func TestNewSpaceErrors(t *testing.T) {
	for _, tt := range []struct {
		params []Param
		want   string
	}{
		{nil, "no parameters"},
		{[]Param{{Name: "x", Min: 1, Max: 1, Scale: "linear"}}, "param[0].max: must be greater than min"},
		{[]Param{{Name: "x", Min: 0, Max: 1, Scale: "log"}}, "param[0].min: log scale needs min > 0"},
		{[]Param{{Name: "x", Min: math.Inf(-1), Max: 1, Scale: "linear"}}, "param[0].min: must be finite"},
		{[]Param{{Name: "x", Min: -math.MaxFloat64, Max: math.MaxFloat64, Scale: "linear"}}, "too wide"},
		{[]Param{{Name: "x", Min: 0, Max: 1, Init: ptr(math.NaN()), Scale: "linear"}}, "param[0].init"},
		{[]Param{{Name: "x", Min: 0, Max: 1}}, `unknown scale ""`},
		{[]Param{{Name: "1x", Min: 0, Max: 1, Scale: "linear"}}, "not an identifier"},
		{[]Param{{Name: "x", Min: 0, Max: 1, Scale: "log"}, {Name: "x", Min: 1, Max: 2, Scale: "log"}}, "duplicate"},
	} {
		_, err := NewSpace(tt.params)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewSpace(%+v) = %v, want %q", tt.params, err, tt.want)
		}
	}
}

func ExampleSpace() {
	s, err := NewSpace([]Param{
		{Name: "x", Min: -2, Max: 2, Scale: "linear"},
		{Name: "rate", Min: 1e-4, Max: 1, Scale: "log"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Names(), s.Init())
	fmt.Println(s.ToUser([]float64{0, 1}))
	fmt.Printf("%.6g\n", s.ToUser([]float64{0.75, 0.25}))
	fmt.Printf("%.6g\n", s.ToUnit([]float64{1, 0.01}))
	// Output:
	// [x rate] [0.5 0.5]
	// [-2 1]
	// [1 0.001]
	// [0.75 0.5]
}

// The values the user wrote reach the simulator as written: the start
// point maps back to each init exactly, and a point at a bound to the
// bound, on both scales, though the unit box round trip alone rounds
// (0.3 in [-3.3, 7.7] comes back 0.2999999999999994).
func TestSpaceExactUserValues(t *testing.T) {
	params := []Param{
		{Name: "lin", Min: 0.1, Max: 1.5, Init: ptr(0.9), Scale: "linear"},
		{Name: "odd", Min: -3.3, Max: 7.7, Init: ptr(0.3), Scale: "linear"},
		{Name: "log", Min: 0.1, Max: 10, Init: ptr(0.9), Scale: "log"},
		{Name: "rate", Min: 1e-6, Max: 0.3, Init: ptr(3e-4), Scale: "log"},
		{Name: "centre", Min: 0.1, Max: 0.7, Scale: "linear"},
	}
	s := mustSpace(t, params)
	rounds := false
	for _, p := range params[:4] {
		if p.toUser(p.toUnit(*p.Init)) != *p.Init {
			rounds = true
		}
	}
	if !rounds {
		t.Fatal("no init of this test rounds in the unit box: the test proves nothing")
	}
	start := s.Map(s.Init())
	for _, p := range params[:4] {
		if start[p.Name] != *p.Init {
			t.Errorf("%s (%s): start %v, want init %v exactly", p.Name, p.Scale, start[p.Name], *p.Init)
		}
	}
	if c := start["centre"]; math.Abs(c-0.4) > 1e-15 {
		t.Errorf("centre: start %v, want 0.4", c)
	}
	for _, v := range []float64{0, 1} {
		u := s.Init()
		for i := range u {
			u[i] = v
		}
		x := s.Map(u)
		for _, p := range params {
			if want := map[float64]float64{0: p.Min, 1: p.Max}[v]; x[p.Name] != want {
				t.Errorf("%s (%s): unit %v gives %v, want the bound %v exactly", p.Name, p.Scale, v, x[p.Name], want)
			}
		}
	}
	// A point off the start maps as before, and the inits map back to
	// their unit coordinates.
	u := s.Init()
	u[0] += 0.125
	if got, want := s.ToUser(u)[0], params[0].toUser(u[0]); got != want {
		t.Errorf("off the start: %v, want %v", got, want)
	}
	if got := s.ToUnit(s.ToUser(s.Init())); !slices.Equal(got[:4], s.Init()[:4]) {
		t.Errorf("ToUnit(ToUser(Init())) = %v, want %v", got[:4], s.Init()[:4])
	}
}

// The simulator gets the start point as the config wrote it.
func TestStartPointAsWritten(t *testing.T) {
	var mu sync.Mutex
	var first map[string]float64
	h := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		mu.Lock()
		if task.Trial == wire.TrialID(0) {
			first = maps.Clone(task.Params)
		}
		mu.Unlock()
		return wire.Reply{Value: testutil.SeparableQuartic(task.Params)}
	})
	sc := testStudy("direct", 50)
	sc.Params[0].Min, sc.Params[0].Max, sc.Params[0].Init = -3.3, 7.7, ptr(0.3)
	sc.Params[1].Min, sc.Params[1].Max, sc.Params[1].Init, sc.Params[1].Scale = 1e-6, 0.3, ptr(3e-4), "log"
	if _, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(h)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if first["x1"] != 0.3 || first["x2"] != 3e-4 {
		t.Errorf("the start point reached the simulator as %v; want x1 = 0.3, x2 = 0.0003 exactly", first)
	}
}
