package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func TestWritePlot(t *testing.T) {
	nan := math.NaN()
	trace := []Point{
		{Evaluations: 1, Value: 0, GradNorm: nan, Lambda: nan},
		{Evaluations: 40, Value: -0.2, GradNorm: 0, Lambda: -1, Escape: true},
		{Evaluations: 60, Value: -0.25, GradNorm: 1e-3, Lambda: nan},
		{Evaluations: 90, Value: -0.25, GradNorm: 1e-6, Lambda: 2},
	}
	path := filepath.Join(t.TempDir(), "convergence.png")
	if err := (&Convergence{Title: "test", Points: trace, Epsilon: 1e-4, Delta: 1e-2}).WritePNG(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 500 {
		t.Fatalf("image is %v", b)
	}
	// An empty trace writes nothing and is no error.
	if err := (&Convergence{Title: "empty", Epsilon: 1, Delta: 1}).WritePNG(filepath.Join(t.TempDir(), "none.png")); err != nil {
		t.Fatal(err)
	}
}

// Constant values below 1 (a simulator that always prints 0.5, a target
// reached at the start point) and a gradient norm equal to ε: no range
// for a log scale may dip below zero.
func TestWritePlotConstant(t *testing.T) {
	nan := math.NaN()
	for name, trace := range map[string][]Point{
		"one point": {{Evaluations: 1, Value: 0.5, GradNorm: nan, Lambda: nan}},
		"constant": {
			{Evaluations: 1, Value: 0.5, GradNorm: nan, Lambda: nan},
			{Evaluations: 7, Value: 0.5, GradNorm: 0.5, Lambda: 0.5},
			{Evaluations: 13, Value: 0.5, GradNorm: 0.5, Lambda: 0.5},
		},
		"gradient at ε": {
			{Evaluations: 1, Value: 3, GradNorm: 1e-3, Lambda: nan},
			{Evaluations: 9, Value: 3, GradNorm: 1e-3, Lambda: nan},
		},
		"tiny": {
			{Evaluations: 1, Value: 5e-324, GradNorm: 5e-324, Lambda: nan},
			{Evaluations: 2, Value: 5e-324, GradNorm: 5e-324, Lambda: nan},
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "convergence.png")
			if err := (&Convergence{Title: name, Points: trace, Epsilon: 1e-3, Delta: 1e-2}).WritePNG(path); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := png.Decode(f); err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
		})
	}
}

// traces are traces a plot must draw readably.
func traces() map[string]*Convergence {
	nan := math.NaN()
	flat := func(vs ...float64) []Point {
		pts := make([]Point, len(vs))
		for i, v := range vs {
			pts[i] = Point{Evaluations: 1 + 10*i, Value: v, GradNorm: math.Abs(v), Lambda: v}
		}
		return pts
	}
	return map[string]*Convergence{
		"one point":       {Points: []Point{{Evaluations: 1, Value: 0.5, GradNorm: nan, Lambda: nan}}, Epsilon: 1e-3, Delta: 1e-2},
		"one point, 0":    {Points: []Point{{Evaluations: 1, Value: 0, GradNorm: nan, Lambda: nan}}},
		"constant":        {Points: flat(0.5, 0.5, 0.5), Epsilon: 1e-3, Delta: 1e-2, Spent: 30},
		"under a decade":  {Points: flat(3, 2.5, 2.2), Epsilon: 1e-4, Delta: 1e-2},
		"tiny range":      {Points: flat(1.9471357186, 1.9471357185, 1.9471357184), Epsilon: 1e-3, Delta: 0.0316},
		"round-off":       {Points: flat(-0.25, -0.25000000000000006, -0.2499999999999999), Epsilon: 1e-4, Delta: 1e-2},
		"negative":        {Points: flat(-3, -70, -5000), Epsilon: 1e-4, Delta: 1e-2},
		"crossing zero":   {Points: flat(0.02, 0.001, -0.003), Epsilon: 1e-4, Delta: 1e-2},
		"many decades":    {Points: flat(1e12, 1e3, 1e-9, 1e-30), Epsilon: 1e-6, Delta: 1e-3, Spent: 756},
		"denormal":        {Points: flat(5e-324, 5e-324), Epsilon: 1e-3, Delta: 1e-2},
		"huge":            {Points: flat(1e300, 2e300), Epsilon: 1e-3, Delta: 1e-2},
		"not measured":    {Points: []Point{{Evaluations: 3, Value: nan, GradNorm: nan, Lambda: nan}}, Epsilon: nan, Delta: nan},
		"zero gradient":   {Points: []Point{{Evaluations: 1, Value: 0, GradNorm: nan, Lambda: nan}, {Evaluations: 50, Value: -0.2, GradNorm: 0, Lambda: -16, Escape: true}}, Epsilon: 1e-4, Delta: 1e-2, Spent: 60},
		"all zero":        {Points: []Point{{Evaluations: 5, Value: 1, GradNorm: 0, Lambda: 0}}, Spent: 9},
		"no thresholds":   {Points: flat(4, 3), Epsilon: 0, Delta: 0},
		"large budget":    {Points: flat(1, 0.5), Epsilon: 1e-3, Delta: 1e-2, Spent: 1234567},
		"curvature of 0":  {Points: []Point{{Evaluations: 1, Value: 1, GradNorm: 1e-5, Lambda: 0}}, Epsilon: 1e-4, Delta: 1e-2},
		"infinite values": {Points: []Point{{Evaluations: 1, Value: math.Inf(1), GradNorm: math.Inf(1), Lambda: math.Inf(-1)}, {Evaluations: 2, Value: 1, GradNorm: 1, Lambda: 1}}},
	}
}

// Every axis of every panel labels at least two ticks, whatever the
// trace, and every x axis runs from 0 to the evaluations spent.
func TestPanelsLabelTwoTicksPerAxis(t *testing.T) {
	for name, c := range traces() {
		panels, err := c.panels()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, pn := range panels {
			for _, a := range []struct {
				name string
				ax   *plot.Axis
			}{{"x", &pn.p.X}, {"y", &pn.p.Y}} {
				what := fmt.Sprintf("%s, panel %d, %s axis", name, i, a.name)
				if labels := labelled(t, what, a.ax.Tick.Marker, a.ax.Min, a.ax.Max); len(labels) < 2 {
					t.Errorf("%s [%g, %g]: labels %q", what, a.ax.Min, a.ax.Max, labels)
				}
			}
			if pn.p.X.Min != 0 || pn.p.X.Max != c.end() {
				t.Errorf("%s, panel %d: x axis [%g, %g], want [0, %g]", name, i, pn.p.X.Min, pn.p.X.Max, c.end())
			}
		}
		// And it draws.
		if err := c.WriteSVG(io.Discard); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The x axes run to the evaluations spent, not to the last iterate, and
// never stop short of a point.
func TestAxesRunToSpent(t *testing.T) {
	nan := math.NaN()
	pts := []Point{{Evaluations: 1, Value: 3, GradNorm: nan, Lambda: nan}, {Evaluations: 516, Value: 2, GradNorm: 1, Lambda: nan}}
	for _, c := range []struct {
		spent int
		want  float64
	}{{756, 756}, {516, 516}, {0, 516}, {100, 516}} {
		panels, err := (&Convergence{Points: pts, Spent: c.spent}).panels()
		if err != nil {
			t.Fatal(err)
		}
		for i, pn := range panels {
			if pn.p.X.Max != c.want {
				t.Errorf("spent %d, panel %d: x axis ends at %g, want %g", c.spent, i, pn.p.X.Max, c.want)
			}
		}
	}
	// The value holds to the end of the axis.
	runs := steps(pts, func(p Point) float64 { return p.Value }, finite, 756)
	if last := runs[len(runs)-1]; last[len(last)-1] != (plotter.XY{X: 756, Y: 2}) {
		t.Errorf("the value line ends at %v, want (756, 2)", last[len(last)-1])
	}
}

// The value panel is on a log scale only for positive values spanning a
// decade or more.
func TestValueScale(t *testing.T) {
	for name, wantLog := range map[string]bool{
		"many decades": true, "under a decade": false, "constant": false, "negative": false,
		"crossing zero": false, "one point": false, "denormal": false, "huge": false, "round-off": false,
	} {
		panels, err := traces()[name].panels()
		if err != nil {
			t.Fatal(err)
		}
		_, isLog := panels[0].p.Y.Scale.(plot.LogScale)
		if isLog != wantLog {
			t.Errorf("%s: value axis log %v, want %v", name, isLog, wantLog)
		}
	}
}

// A value holds from its iterate to the next: the line has no slope, so
// that a jump (an escape) is a jump, not a fall. An iterate whose value
// was not measured (NaN) leaves the last one holding; one the panel
// cannot show (infinite) breaks the line.
func TestValueSteps(t *testing.T) {
	nan := math.NaN()
	pts := []Point{
		{Evaluations: 1, Value: 0}, {Evaluations: 10, Value: -0.1}, {Evaluations: 400, Value: -0.2, Escape: true},
		{Evaluations: 410, Value: nan}, {Evaluations: 420, Value: -0.3}, {Evaluations: 430, Value: math.Inf(1)},
		{Evaluations: 440, Value: -0.3}, {Evaluations: 450, Value: -0.3},
	}
	runs := steps(pts, func(p Point) float64 { return p.Value }, finite, 500)
	want := []plotter.XYs{
		{{X: 1, Y: 0}, {X: 10, Y: 0}, {X: 10, Y: -0.1}, {X: 400, Y: -0.1}, {X: 400, Y: -0.2}, {X: 420, Y: -0.2}, {X: 420, Y: -0.3}, {X: 430, Y: -0.3}},
		{{X: 440, Y: -0.3}, {X: 450, Y: -0.3}, {X: 450, Y: -0.3}, {X: 500, Y: -0.3}},
	}
	if !reflect.DeepEqual(runs, want) {
		t.Fatalf("steps = %v, want %v", runs, want)
	}
	for _, xy := range runs {
		for i := 1; i < len(xy); i++ {
			if xy[i].X != xy[i-1].X && xy[i].Y != xy[i-1].Y {
				t.Errorf("a sloped segment from %v to %v", xy[i-1], xy[i])
			}
		}
	}
	// The escape is marked from the value before to the value after.
	if got := escapes(pts); !reflect.DeepEqual(got, []escapeMark{{x: 400, from: -0.1, to: -0.2}}) {
		t.Errorf("escapes = %+v", got)
	}
	if got := escapes([]Point{{Evaluations: 5, Value: 1, Escape: true}}); len(got) != 1 || !math.IsNaN(got[0].from) || got[0].to != 1 {
		t.Errorf("an escape with no value before: %+v", got)
	}
}

// A gradient norm is drawn over the evaluations of the iterate it was
// estimated at, the interval that ends where the step it decided is
// reported; a norm of 0 or none breaks the line.
func TestGradientSteps(t *testing.T) {
	nan := math.NaN()
	pts := []Point{
		{Evaluations: 1, GradNorm: nan}, {Evaluations: 51, GradNorm: 1e-16, Escape: true}, {Evaluations: 61, GradNorm: 1e-3},
		{Evaluations: 70, GradNorm: 0}, {Evaluations: 80, GradNorm: 2e-5}, {Evaluations: 91, GradNorm: 1e-6},
	}
	runs := backSteps(pts, func(p Point) float64 { return p.GradNorm }, positive)
	want := []plotter.XYs{
		{{X: 1, Y: 1e-16}, {X: 51, Y: 1e-16}, {X: 51, Y: 1e-3}, {X: 61, Y: 1e-3}},
		{{X: 70, Y: 2e-5}, {X: 80, Y: 2e-5}, {X: 80, Y: 1e-6}, {X: 91, Y: 1e-6}},
	}
	if !reflect.DeepEqual(runs, want) {
		t.Errorf("backSteps = %v, want %v", runs, want)
	}
	first := backSteps([]Point{{Evaluations: 9, GradNorm: 2}}, func(p Point) float64 { return p.GradNorm }, positive)
	if !reflect.DeepEqual(first, []plotter.XYs{{{X: 0, Y: 2}, {X: 9, Y: 2}}}) {
		t.Errorf("a first point's norm: %v", first)
	}
}

// legendNames are the legend entries of each panel.
func legendNames(t *testing.T, c *Convergence) [][]string {
	t.Helper()
	panels, err := c.panels()
	if err != nil {
		t.Fatal(err)
	}
	var names [][]string
	for _, pn := range panels {
		names = append(names, pn.names)
	}
	return names
}

// A gradient norm of exactly 0 is drawn, on the bottom of its log axis,
// with its own legend entry; escapes have theirs.
func TestZeroGradientShown(t *testing.T) {
	c := traces()["zero gradient"]
	names := legendNames(t, c)
	want := [][]string{{"value", "escape (negative curvature)"}, {"‖ĝ‖ = 0", "ε"}, {"curvature estimate", "−δ"}}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("legends %q, want %q", names, want)
	}
	panels, err := c.panels()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := panels[1].p.Y.Scale.(plot.LogScale); !ok {
		t.Errorf("the gradient axis is not a log one with a zero norm and ε: %T", panels[1].p.Y.Scale)
	}
	if names := legendNames(t, traces()["many decades"]); slices.Contains(names[1], "‖ĝ‖ = 0") || slices.Contains(names[0], "escape (negative curvature)") {
		t.Errorf("legends %q for a trace with no zero gradient and no escape", names)
	}
	// With no positive norm and no ε a log axis has no range: a linear
	// one shows the zeros at 0.
	if names := legendNames(t, traces()["all zero"]); !slices.Contains(names[1], "‖ĝ‖ = 0") {
		t.Errorf("legends %q", names)
	}
}

// Legends are drawn beside the data, never over them: right of every
// panel's data area, within the figure, top-aligned with their panel.
func TestLegendsBesideData(t *testing.T) {
	for name, c := range traces() {
		img := vgimg.New(width, height)
		dc := draw.New(img)
		lay, err := c.draw(dc)
		if err != nil {
			t.Fatal(err)
		}
		names := legendNames(t, c)
		if len(lay.data) != 3 || len(lay.legends) != 3 {
			t.Fatalf("%s: layout %+v", name, lay)
		}
		for i, lg := range lay.legends {
			if len(names[i]) == 0 {
				continue
			}
			if lg.Size().X <= 0 || lg.Size().Y <= 0 || lg.Min.X < dc.Min.X || lg.Max.X > dc.Max.X || lg.Min.Y < lay.data[i].Min.Y || lg.Max.Y > lay.data[i].Max.Y {
				t.Errorf("%s: legend %d at %+v, data %+v, figure %+v", name, i, lg, lay.data[i], dc.Rectangle)
			}
			for j, d := range lay.data {
				if overlap(lg, d) {
					t.Errorf("%s: legend %d at %+v covers the data of panel %d at %+v", name, i, lg, j, d)
				}
			}
		}
	}
}

func overlap(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}

// The SVG is well-formed XML with its text as text: tick labels and
// legends readable by a browser's search, no font embedded.
func TestWriteSVG(t *testing.T) {
	c := traces()["zero gradient"]
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	texts := map[string]bool{}
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
			if tok.Name.Local == "font-face" || tok.Name.Local == "font" {
				t.Errorf("a font is embedded: <%s>", tok.Name.Local)
			}
		case xml.EndElement:
			inText = false
		case xml.CharData:
			if inText {
				texts[strings.TrimSpace(string(tok))] = true
			}
		}
	}
	// x: 0 … 60 evaluations; value: 0 … −0.2; ‖ĝ‖: about ε = 1e-4;
	// curvature: −16 … 0.
	for _, want := range []string{"0", "20", "40", "60", "-0.20", "-0.10", "1e-4", "-15", "-10", "evaluations", "value", "‖ĝ‖ = 0", "escape (negative curvature)", "ε", "−δ"} {
		if !texts[want] {
			t.Errorf("no text %q in the SVG; its texts: %q", want, slices.Sorted(maps.Keys(texts)))
		}
	}
	t.Logf("SVG of %d points: %d bytes", len(c.Points), buf.Len())
	if buf.Len() > 64<<10 {
		t.Errorf("the SVG of 2 points is %d bytes", buf.Len())
	}
}

// A long trace is thinned to what a panel can show, keeping in each
// column of the panel the first, least, greatest and last of its line,
// so that the SVG of a long study stays small.
func TestThin(t *testing.T) {
	var pts []Point
	for i := range 20000 {
		v := math.Sin(float64(i)/50) * float64(i)
		pts = append(pts, Point{Evaluations: 1 + 3*i, Value: v, GradNorm: math.Abs(v), Lambda: math.NaN()})
	}
	end := 60000.0
	runs := steps(pts, func(p Point) float64 { return p.Value }, finite, end)
	xy := runs[0]
	w := end / columns
	got := thin(xy, w)
	if len(got) > 4*(columns+1) || got[0] != xy[0] || got[len(got)-1] != xy[len(xy)-1] {
		t.Fatalf("thinned %d vertices to %d, from %v to %v", len(xy), len(got), got[0], got[len(got)-1])
	}
	extremes := func(xy plotter.XYs) map[float64][2]float64 {
		m := map[float64][2]float64{}
		for _, p := range xy {
			c := math.Floor(p.X / w)
			e, ok := m[c]
			if !ok {
				e = [2]float64{p.Y, p.Y}
			}
			m[c] = [2]float64{min(e[0], p.Y), max(e[1], p.Y)}
		}
		return m
	}
	if want, have := extremes(xy), extremes(got); !reflect.DeepEqual(want, have) {
		t.Errorf("thinning changed the extremes of some column")
	}
	c := &Convergence{Points: pts, Epsilon: 1e-3, Delta: 1e-2, Spent: int(end)}
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("SVG of %d points: %d bytes", len(pts), buf.Len())
	if buf.Len() > 128<<10 {
		t.Errorf("the SVG of %d points is %d bytes", len(pts), buf.Len())
	}
}
